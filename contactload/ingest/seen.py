"""What one run of an insert job has stored so far, kept small enough for millions of
rows: the 64-bit hashes of its numbers and of its unique values, each set a sorted
numpy array (8 bytes a value, where a Python set of the strings takes about 100).

It answers one question for the lookups: which of these values might this run have
stored? A value it does not name was certainly not stored by this run, so a chunk
needs to look up in the database only the values it names (two values may share a
hash: the database then tells). Everything else counts as new; a value another upload
holds is then caught by the unique indexes when the chunk is written, and the chunk
is checked again in full."""

import numpy as np

# Past this many values of one kind the arrays stop growing, and every value is
# looked up in the database again (1 GiB of hashes in all).
LIMIT = 64_000_000


class Hashes:
    """The hashes of a growing set of strings, sorted."""

    def __init__(self, limit: int = LIMIT):
        self.sorted = np.empty(0, dtype=np.int64)
        self.limit = limit
        self.complete = True  # False once a value was left out (past the limit)

    def add(self, values: set[str]) -> None:
        if not values or not self.complete:
            return
        if len(self.sorted) + len(values) > self.limit:
            self.complete, self.sorted = False, np.empty(0, dtype=np.int64)
            return
        new = np.sort(np.fromiter(map(hash, values), dtype=np.int64, count=len(values)))
        # A new array, bound in one step: a reader in another thread sees the old or the new.
        self.sorted = np.insert(self.sorted, np.searchsorted(self.sorted, new), new)

    def maybe(self, values: set[str]) -> set[str]:
        """The values that may be among those added (all of them once incomplete)."""
        if not self.complete:
            return set(values)
        known = self.sorted
        if not values or not len(known):
            return set()
        asked = list(values)
        hashes = np.fromiter(map(hash, asked), dtype=np.int64, count=len(asked))
        found = known[np.minimum(np.searchsorted(known, hashes), len(known) - 1)] == hashes
        return {asked[index] for index in np.flatnonzero(found).tolist()}


class Seen:
    """The numbers and unique values one run of an insert job stored."""

    def __init__(self, limit: int = LIMIT):
        self.numbers, self.ids = Hashes(limit), Hashes(limit)

    def add(self, numbers: set[str], ids: set[str]) -> None:
        self.numbers.add(numbers)
        self.ids.add(ids)
