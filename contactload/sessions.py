"""Staff sessions in the database, whose writes go ahead of a running job's
(``writers.ahead_of_jobs``): on SQLite a job holds the one write lock from chunk to
chunk, and a login, a logout or a page that changed its session waited for the job's
end. Only the write itself goes first: not the request around it (a login's password
hashing, a body being sent)."""

from django.contrib.auth.models import update_last_login
from django.contrib.sessions.backends import db

from contactload.ingest import writers


class SessionStore(db.SessionStore):
    def save(self, must_create: bool = False) -> None:
        with writers.ahead_of_jobs():
            super().save(must_create)

    def delete(self, session_key: str | None = None) -> None:
        with writers.ahead_of_jobs():
            super().delete(session_key)


def last_login_ahead_of_jobs(sender, user, **kwargs) -> None:
    """Django's ``update_last_login``, ahead of a running job's writes."""
    with writers.ahead_of_jobs():
        update_last_login(sender, user, **kwargs)
