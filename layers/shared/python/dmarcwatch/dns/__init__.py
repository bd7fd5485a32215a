"""DNS scanning core: a budgeted async resolver session, SPF (RFC 7208) and DMARC (RFC 7489) analysis."""

import dns._features

# dnspython decides at import whether DNS-over-HTTPS is available by reading the installed packages'
# metadata, and if so imports an HTTP/2 client stack (~30 ms of every scanner cold start). The scanner
# speaks plain DNS to the configured resolvers only, so DoH is switched off before dns.query is imported
# (`force` is dnspython's documented override for this).
dns._features.force("doh", False)
