"""Reads of the analytics app: every figure for one account over one window."""
