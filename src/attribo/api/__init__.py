"""Management and reporting HTTP API, and the composition of the whole server."""
