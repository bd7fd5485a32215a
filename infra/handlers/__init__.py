"""Code of the stack's own custom resources (each folder is one Lambda asset)."""
