"""Lambda: export runs from the export queue (files streamed into the exports bucket)."""

from dmarcwatch.services.export_worker import handler

__all__ = ["handler"]
