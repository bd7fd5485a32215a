"""How long a queued scan request keeps its domain off the dispatcher (a light module: the dispatcher
and the CDK stack import it without the scanner)."""

from datetime import timedelta

# While a scan request waits in the queue the domain is not due again for this long.
QUEUED_LEASE = timedelta(hours=1)
