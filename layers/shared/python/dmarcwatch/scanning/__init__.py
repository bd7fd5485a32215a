"""Scheduled and on-demand DNS scans: recording results, change history and events."""
