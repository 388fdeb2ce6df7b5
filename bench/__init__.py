"""The ingest benchmark (`make bench`): contactload end to end on PostgreSQL and
SQLite against the physical limit of each database and against the usual Django
implementations, on one generated workload, in one run."""
