"""The flock primitives of SQLite's write turns (``contactload.sqlite.turns``), on
files of their own: a turn is seen until it is given back, a job lets the writers
through or gives up after ``LET_IN_S``, and without the file nobody is let in."""

import logging
import threading
import time

from contactload.sqlite import turns


def test_a_turn_is_seen_until_every_writer_gives_it_back(tmp_path):
    name = str(tmp_path / "db.sqlite3")
    assert turns.others_waiting(name) is False
    first = turns.take(name)
    second = turns.take(name)  # (shared: writers wait side by side)
    assert turns.others_waiting(name) is True
    turns.give_back(first)
    assert turns.others_waiting(name) is True
    turns.give_back(second)
    assert turns.others_waiting(name) is False
    with turns.waiting(name):
        assert turns.others_waiting(name) is True
    assert turns.others_waiting(name) is False


def test_letting_in_waits_for_the_writers_and_gives_up_after_its_limit(tmp_path, monkeypatch):
    name = str(tmp_path / "db.sqlite3")
    turn = turns.take(name)
    through = threading.Timer(0.2, turns.give_back, [turn])  # a writer, through soon
    through.start()
    turns.let_in(name)
    assert through.finished.is_set()  # (it returned once the writer was through)
    assert turns.others_waiting(name) is False
    through.join()

    monkeypatch.setattr(turns, "LET_IN_S", 0.2)
    turn = turns.take(name)  # a writer that never goes through
    try:
        started = time.monotonic()
        job = threading.Thread(target=turns.let_in, args=[name])
        job.start()
        job.join(timeout=30)  # (a let_in that ignored its limit would never return)
        assert not job.is_alive()
        assert time.monotonic() - started >= 0.2
        assert turns.others_waiting(name) is True
    finally:
        turns.give_back(turn)


def test_without_the_file_nobody_is_let_in_and_it_is_said_once(tmp_path, caplog):
    name = str(tmp_path / "no such folder" / "db.sqlite3")
    with caplog.at_level(logging.WARNING, logger="contactload.worker"):
        assert turns.take(name) is None
        assert turns.take(name) is None
        assert turns.others_waiting(name) is False
        started = time.monotonic()
        turns.let_in(name)
        assert time.monotonic() - started < turns.LET_IN_S
        turns.give_back(None)
    said = [record for record in caplog.records if "writers are not let in" in record.message]
    assert len(said) == 1
    assert said[0].exc_info is not None  # (with the reason the file could not be opened)


def test_a_database_in_memory_has_no_turns():
    for name in (":memory:", "file:memorydb_default?mode=memory&cache=shared"):
        assert turns.take(name) is None
        assert turns.others_waiting(name) is False
