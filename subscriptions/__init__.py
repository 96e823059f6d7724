"""Who follows the account, which enterprises they speak for, and what they want to receive."""
