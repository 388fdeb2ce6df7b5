"""The staff pages' writes go ahead of a running job's (``writers.ahead_of_jobs``): on
SQLite a job holds the one write lock from chunk to chunk, and a login, a logout or an
admin change waited for the job's end (or failed with "database is locked"). The
API's writers take their turn themselves, around their transaction only: an upload's
body is read before it, and a job must not stand aside while a client sends it."""

from contactload.ingest import writers

STAFF_PAGES = ("/admin/", "/accounts/")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class StaffWritesAheadOfJobs:
    """Outside the session middleware, so that the session's save is inside too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in SAFE_METHODS or not request.path_info.startswith(STAFF_PAGES):
            return self.get_response(request)
        with writers.ahead_of_jobs():
            return self.get_response(request)
