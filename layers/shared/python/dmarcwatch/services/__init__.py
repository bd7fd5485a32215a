"""The domain layer: what the API handlers, the admin CLI and the workers call."""
