"""Lambda: the scheduled rescan dispatcher (EventBridge)."""

from dmarcwatch.scanning.dispatcher import handler

__all__ = ["handler"]
