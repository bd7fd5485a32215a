"""Constructs of the dmarcwatch stack, one module per concern."""
