"""What is known about a sending IP: reverse DNS, base domain, network organisation, country, sender."""
