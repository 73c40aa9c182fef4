"""Service layer: CLI, HTTP API, serialisation, cache, audit log and monitoring."""
