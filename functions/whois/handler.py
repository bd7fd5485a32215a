"""Lambda: WHOIS lookups over RDAP from the WHOIS queue."""

from dmarcwatch.whois.worker import handler

__all__ = ["handler"]
