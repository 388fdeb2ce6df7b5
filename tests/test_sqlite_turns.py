"""On SQLite every write takes its turn at the one write lock (the backend,
``contactload.sqlite``): a transaction from its start to its end, a write in
autocommit for its statement; reads take none. A job takes none
(``writers.turns_taken``): it would stand aside for itself; nor a worker's poll of the
queue, which would make a running job commit after every chunk; the tasks the worker
runs take theirs. On PostgreSQL nobody ever stands aside."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection, transaction

from contactload.ingest import writers
from contactload.management.commands.worker import QueueWorker
from contactload.tasks import process_upload
from tests.conftest import batch_worker

pytestmark = pytest.mark.django_db(transaction=True)  # (a test's transaction holds a turn)


def turns_expected() -> bool:
    return connection.vendor == "sqlite"


@pytest.fixture
def probed():
    """What ``writers.others_waiting`` answered during each statement run meanwhile."""
    seen: list[tuple[str, bool]] = []

    def probe(execute, sql, params, many, context):
        seen.append((sql.split()[0].upper(), writers.others_waiting(), params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(probe):
        yield seen


def test_a_transaction_holds_a_turn_from_its_start_to_its_end():
    assert writers.others_waiting() is False
    with transaction.atomic():
        assert writers.others_waiting() is turns_expected()
        Group.objects.create(name="dialers")
        assert writers.others_waiting() is turns_expected()
    assert writers.others_waiting() is False
    inside = []

    def rolled_back():
        with transaction.atomic():
            inside.append(writers.others_waiting())
            Group.objects.create(name="callers")
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        rolled_back()
    assert inside == [turns_expected()]
    assert writers.others_waiting() is False
    assert list(Group.objects.values_list("name", flat=True)) == ["dialers"]


def test_a_write_in_autocommit_holds_a_turn_for_its_statement_and_a_read_none(probed):
    Group.objects.create(name="dialers")
    Group.objects.filter(name="dialers").update(name="callers")
    assert Group.objects.get().name == "callers"
    Group.objects.all().delete()

    expected = turns_expected()
    verbs = {(verb, waiting) for verb, waiting, _params in probed}
    assert {("INSERT", expected), ("UPDATE", expected), ("DELETE", expected)} <= verbs
    assert {waiting for verb, waiting in verbs if verb == "SELECT"} == {False}
    assert writers.others_waiting() is False
    assert not Group.objects.exists()


def test_a_job_s_own_writes_take_no_turn(probed):
    with writers.turns_taken(False):
        Group.objects.create(name="dialers")
        with transaction.atomic():
            assert writers.others_waiting() is False
            Group.objects.create(name="callers")
    assert {waiting for _verb, waiting, _params in probed} == {False}
    with transaction.atomic():  # (and the connection takes them again once the job is done)
        assert writers.others_waiting() is turns_expected()
    assert Group.objects.count() == 2


def test_a_worker_s_polls_take_no_turn_and_the_tasks_it_runs_do(probed):
    process_upload.enqueue("no-such-job")  # (its run finds no job to claim, and ends)
    batch_worker(QueueWorker, "turns").run()

    def waiting_while(status: str) -> set[bool]:
        return {
            waiting for verb, waiting, params in probed if verb == "UPDATE" and status in params
        }

    assert waiting_while("RUNNING") == {False}  # the poll claims the task
    assert waiting_while("SUCCESSFUL") == {turns_expected()}  # the run records its end
    assert not writers.others_waiting()
    assert getattr(connection, "takes_turns", True) is True


def test_a_transaction_begun_by_set_autocommit_holds_a_turn_from_its_first_write_to_its_end():
    transaction.set_autocommit(False)
    try:
        Group.objects.exists()  # (a read takes none)
        assert writers.others_waiting() is False
        Group.objects.create(name="dialers")
        assert writers.others_waiting() is turns_expected()
        Group.objects.create(name="callers")
        transaction.commit()
        assert writers.others_waiting() is False
        Group.objects.create(name="agents")
        assert writers.others_waiting() is turns_expected()
        transaction.rollback()
        assert writers.others_waiting() is False
        Group.objects.create(name="agents")
        if connection.vendor != "sqlite":  # (psycopg refuses to leave a transaction open)
            transaction.commit()
    finally:
        transaction.set_autocommit(True)  # sqlite3 commits the transaction left open
    assert writers.others_waiting() is False
    assert sorted(Group.objects.values_list("name", flat=True)) == ["agents", "callers", "dialers"]


@pytest.mark.parametrize(
    "sql",
    [
        "/* a label */ INSERT INTO auth_group (name) VALUES (%s)",
        "-- a label\nINSERT INTO auth_group (name) VALUES (%s)",
        "WITH n (name) AS (SELECT %s) INSERT INTO auth_group (name) SELECT name FROM n",
    ],
    ids=["block comment", "line comment", "common table expression"],
)
def test_a_write_whose_verb_comes_after_a_comment_or_a_cte_holds_a_turn(probed, sql):
    with connection.cursor() as cursor:
        cursor.execute(sql, ["dialers"])
        cursor.execute("WITH n (name) AS (SELECT %s) SELECT name FROM n", ["callers"])
        assert cursor.fetchall() == [("callers",)]
    statements = [waiting for _verb, waiting, _params in probed]
    assert statements == [turns_expected(), False]  # the write holds one, the read none
    assert list(Group.objects.values_list("name", flat=True)) == ["dialers"]


def test_a_long_read_after_a_comment_runs_and_takes_no_turn(probed):
    """(A statement parser would refuse one of more than 10,000 tokens.)"""
    ids = list(range(5000))
    places = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(f"/* a label */ SELECT count(*) FROM auth_group WHERE id IN ({places})", ids)
        assert cursor.fetchone() == (0,)
    assert [waiting for _verb, waiting, _params in probed] == [False]
