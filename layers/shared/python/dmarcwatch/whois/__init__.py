"""WHOIS over RDAP for monitored domains: lookups (whoisit over httpx), their fields, the queue worker and
the weekly schedule. docs/whois.md has the design."""
