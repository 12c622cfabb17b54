"""Consumers that move events from the log into the store."""
