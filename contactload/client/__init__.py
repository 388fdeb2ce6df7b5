"""The ``contactload push`` client: reads a CSV or JSON file of contacts and pushes it to
a contactload server in chunks, over HTTP only. Imports neither Django nor the models,
so it works against a remote server from any machine that reaches it."""
