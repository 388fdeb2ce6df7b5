"""The SQLite backend the service runs on (``base``) and the turns its writers take
at SQLite's one write lock (``turns``)."""
