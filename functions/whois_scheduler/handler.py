"""Lambda: the scheduled weekly WHOIS refresh (EventBridge)."""

from dmarcwatch.whois.scheduler import handler

__all__ = ["handler"]
