"""DNS scanning core: a budgeted async resolver session, SPF (RFC 7208) and DMARC (RFC 7489) analysis."""
