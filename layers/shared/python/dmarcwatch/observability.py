"""Names shared by every function's Powertools Logger, Tracer and Metrics."""

SERVICE = "dmarcwatch"
NAMESPACE = "Dmarcwatch"
