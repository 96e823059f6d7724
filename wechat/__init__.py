"""The WeChat official-account API client and the message types every domain shares."""
