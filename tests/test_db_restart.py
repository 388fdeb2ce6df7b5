"""A PostgreSQL restart under a running job: the worker waits for the database,
recovery resumes the job, and every row still has exactly one outcome."""

import os
import shutil
import signal
import subprocess

import pytest
from django.db import connection

from contactload.models import UploadJob
from tests.test_recovery import (
    CHUNK,
    ROWS,
    assert_exactly_one_outcome_each,
    job_facts,
    start_worker,
    upload_csv,
    wait_until,
)


def postgres_cluster() -> list[str]:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    return ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main"]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_database_restart_under_a_running_job_loses_and_doubles_nothing(settings):
    if connection.vendor != "postgresql":
        pytest.skip("restarts the PostgreSQL server; runs in the PostgreSQL pass")
    assert shutil.which("pg_ctlcluster"), "pg_ctlcluster is needed to restart the server"
    job_id, good, bad = upload_csv(settings)
    worker = start_worker()
    try:
        wait_until(lambda: job_facts(job_id)[1] >= 10 * CHUNK, 120, "the job to be under way")
        state, processed = job_facts(job_id)
        assert (state, processed < ROWS) == ("running", True)  # the restart lands mid-job
        connection.close()
        subprocess.run([*postgres_cluster(), "restart"], check=True, timeout=120)
        wait_until(lambda: job_facts(job_id)[0] == "completed", 300, "the job to complete")
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait()
    assert_exactly_one_outcome_each(job_id, good, bad)
    assert UploadJob.objects.get(pk=job_id).attempts >= 2  # the restart cut a run short
