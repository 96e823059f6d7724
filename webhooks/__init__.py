"""The WeChat webhook: verifies, decrypts, de-duplicates and routes what WeChat's servers send."""
