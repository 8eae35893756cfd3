"""Intake from every channel: channel API keys, the public column's service, duplicate detection and merging."""
