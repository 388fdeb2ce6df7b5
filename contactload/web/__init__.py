"""The staff web pages (session login): the upload form and a job's live progress.
Thin doors over ``ingest``: they call the same core functions as the API and show
its exact messages."""
