"""Lambda: the exports API group (routes in dmarcwatch.api.registry)."""

from dmarcwatch.api.lambda_entry import make_handler

handler = make_handler("exports")
