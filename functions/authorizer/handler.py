"""Lambda: the API Gateway TOKEN authorizer. Imports no web framework."""

from dmarcwatch.auth.authorizer_handler import handler

__all__ = ["handler"]
