"""One module per CLI command group; each command is a thin function over a service."""
