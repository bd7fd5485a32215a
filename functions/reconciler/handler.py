"""Lambda: the nightly reconciliation of portfolio counters and the facet index (EventBridge, hourly)."""

from dmarcwatch.services.reconciler import handler

__all__ = ["handler"]
