"""On SQLite every write but a running job's own takes its turn at the one write lock
(the backend, ``contactload.sqlite``): a transaction from its start to its end, a
write in autocommit for its statement; reads take none. A job (``writers.job_writes``)
takes none: it would stand aside for itself. On PostgreSQL nobody ever stands aside."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection, transaction

from contactload.ingest import writers

pytestmark = pytest.mark.django_db(transaction=True)  # (a test's transaction holds a turn)


def turns_expected() -> bool:
    return connection.vendor == "sqlite"


@pytest.fixture
def probed():
    """What ``writers.others_waiting`` answered during each statement run meanwhile."""
    seen: list[tuple[str, bool]] = []

    def probe(execute, sql, params, many, context):
        seen.append((sql.split()[0].upper(), writers.others_waiting()))
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
    assert ("INSERT", expected) in probed
    assert ("UPDATE", expected) in probed
    assert ("DELETE", expected) in probed
    assert {waiting for verb, waiting in probed if verb == "SELECT"} == {False}
    assert writers.others_waiting() is False
    assert not Group.objects.exists()


def test_a_job_s_own_writes_take_no_turn(probed):
    with writers.job_writes():
        Group.objects.create(name="dialers")
        with transaction.atomic():
            assert writers.others_waiting() is False
            Group.objects.create(name="callers")
    assert {waiting for _verb, waiting in probed} == {False}
    with transaction.atomic():  # (and the connection takes them again once the job is done)
        assert writers.others_waiting() is turns_expected()
    assert Group.objects.count() == 2
