"""Django's SQLite backend, in which every write takes its turn ahead of a running job
(``ENGINE = "contactload.sqlite"``).

SQLite has one write lock. A job holds it from chunk to chunk and, between two
chunks, lets in the writers waiting for it (``turns``); a writer that does not say it
waits missed every gap and waited for the job's end (60 s at most, then "database is
locked"). Here every connection says so (but a running job's own, and a worker's while
it polls the queue: ``writers.turns_taken``): a transaction from its ``BEGIN``
(IMMEDIATE: the write lock is taken there), or from its first write when
``set_autocommit(False)`` began it, to its commit or rollback; a write in autocommit
for its statement. Reads need no turn (WAL)."""

import re

from django.db.backends.sqlite3 import base

from contactload.sqlite import turns

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
# what may come before a statement's first word
LEADING = re.compile(r"(?:\s+|--[^\n]*|/\*.*?\*/)*", re.DOTALL)
# a common table expression's statement names its verb after it; a read that only
# names one (in a string, say) takes a turn it did not need, and loses nothing
VERB = re.compile(r"\b(?:INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def writes(sql: str) -> bool:
    start = LEADING.match(sql).end()
    first = sql[start : start + 7].upper()
    if first.startswith("WITH"):
        return VERB.search(sql, start) is not None
    return first.startswith(WRITES)


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # False on a running job's own connection (it lets the others in), and while a
        # worker polls the queue (``writers.turns_taken``)
        self.takes_turns = True
        self.turn: int | None = None  # the turn this connection's transaction holds
        self.execute_wrappers.append(self.statement_turn)

    def take_turn(self) -> int | None:
        return turns.take(self.settings_dict["NAME"])

    def _start_transaction_under_autocommit(self):
        if self.takes_turns and self.turn is None:
            self.turn = self.take_turn()
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self.end_turn()
            raise

    def _commit(self):
        try:
            super()._commit()
        finally:
            self.end_turn()

    def _rollback(self):
        try:
            super()._rollback()
        finally:
            self.end_turn()

    def _set_autocommit(self, autocommit):
        super()._set_autocommit(autocommit)
        if autocommit:  # (sqlite3 commits a transaction left open)
            self.end_turn()

    def _close(self):
        try:
            super()._close()
        finally:
            self.end_turn()

    def end_turn(self) -> None:
        turn, self.turn = self.turn, None
        turns.give_back(turn)

    def statement_turn(self, execute, sql, params, many, context):
        """A write in autocommit is a transaction of its own: it waits for its turn. In
        a transaction begun by ``set_autocommit(False)`` (sqlite3 begins it itself, at
        the first write: no ``BEGIN`` of ours), the first write takes the turn, and the
        transaction holds it to its end."""
        if not self.takes_turns or self.turn is not None or not writes(sql):
            return execute(sql, params, many, context)
        if not self.autocommit:
            self.turn = self.take_turn()
            return execute(sql, params, many, context)
        turn = self.take_turn()
        try:
            return execute(sql, params, many, context)
        finally:
            turns.give_back(turn)
