"""Push campaigns: the right policy to the right enterprises, exactly once, at WeChat's pace."""
