"""The local stack: the whole service on loopback with moto standing in for AWS (design.md §8)."""
