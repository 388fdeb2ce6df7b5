"""An admin's changes go ahead of a running job's writes (``writers.ahead_of_jobs``):
on SQLite a job holds the one write lock from chunk to chunk, and a change waited for
the job's end (or failed with "database is locked"). Only for staff signed in, once
their form is read: a job must not stand aside while a client sends a body, nor for
anyone who may post. Logins, logouts and session saves take their turn themselves
(``contactload.sessions``)."""

from contactload.ingest import writers

ADMIN_PAGES = "/admin/"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class StaffWritesAheadOfJobs:
    """After the authentication middleware, which tells staff."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            request.method in SAFE_METHODS
            or not request.path_info.startswith(ADMIN_PAGES)
            or not request.user.is_staff
        ):
            return self.get_response(request)
        request.POST  # noqa: B018 - the form is read here, before a job stands aside
        with writers.ahead_of_jobs():
            return self.get_response(request)
