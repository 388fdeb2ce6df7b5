"""What one run of an insert job has stored so far, in a fixed amount of memory: a
Bloom filter of its numbers and one of its unique values (numpy bit arrays, 8 MiB
each, whatever the size of the upload).

It answers one question for the lookups: which of these values might this run have
stored? A value it does not name was certainly not stored by this run, so a chunk
needs to look up in the database only the values it names: the ones it stored, and a
few others by chance (about 1 in 10,000 after a million values, 1 in 20 after ten
million: then they are simply looked up). Everything else counts as new; a value
another upload holds is then caught by the unique indexes when the chunk is written,
and the chunk is checked again in full."""

import numpy as np

BITS = 2**26  # per filter
PROBES = 3  # bits set per value
LOW = np.uint64(0xFFFFFFFF)
HIGH = np.uint64(32)


class Filter:
    """A Bloom filter of strings, probed at bits derived from Python's 64-bit ``hash``
    (double hashing); a process keeps its hashes, and a run lives in one process."""

    def __init__(self, bits: int = BITS):
        self.bytes = np.zeros(bits // 8, dtype=np.uint8)
        self.mask = np.uint64(bits - 1)

    def positions(self, values: list[str]) -> list[np.ndarray]:
        hashes = np.fromiter(map(hash, values), dtype=np.int64, count=len(values))
        hashes = hashes.view(np.uint64)
        first, step = hashes & LOW, (hashes >> HIGH) | np.uint64(1)
        return [(first + np.uint64(probe) * step) & self.mask for probe in range(PROBES)]

    def add(self, values: set[str]) -> None:
        if values:
            for bit in self.positions(list(values)):
                index, mask = bit >> np.uint64(3), bit_of(bit)
                while index.size:
                    # of two values setting bits of one byte, the last one's write wins:
                    # the others are written again (ufunc.at would be 20x slower)
                    self.bytes[index] |= mask
                    missing = (self.bytes[index] & mask) != mask
                    index, mask = index[missing], mask[missing]

    def maybe(self, values: set[str]) -> set[str]:
        """The values that may have been added: all that were, and a few others."""
        if not values:
            return set()
        asked = list(values)
        found = np.ones(len(asked), dtype=bool)
        for bit in self.positions(asked):
            found &= (self.bytes[bit >> np.uint64(3)] & bit_of(bit)) != 0
        return {asked[index] for index in np.flatnonzero(found).tolist()}


def bit_of(bit: np.ndarray) -> np.ndarray:
    """The mask of each bit within its byte."""
    return np.left_shift(np.uint8(1), (bit & np.uint64(7)).astype(np.uint8))


class Seen:
    """The numbers and unique values one run of an insert job stored."""

    def __init__(self, bits: int = BITS):
        self.numbers, self.ids = Filter(bits), Filter(bits)

    def add(self, numbers: set[str], ids: set[str]) -> None:
        self.numbers.add(numbers)
        self.ids.add(ids)
