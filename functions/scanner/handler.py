"""Lambda: DNS scans from the scan queue."""

from dmarcwatch.scanning.worker import handler

__all__ = ["handler"]
