"""Optional sampling profile of the service while it runs (``BENCH_PROFILE=DIR``):
py-spy records serve and all its children (gunicorn's workers, the background
worker) into collapsed stacks; ``python -m bench.profile FILE`` summarises them.
Profiling costs a little speed: take the table from a run without it."""

import os
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

PROCESS = re.compile(r'process \d+:"')


def py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


@contextmanager
def recording(pid: int, output: Path | None):
    """Record ``pid`` and its subprocesses while the block runs (nothing if ``output`` is None)."""
    tool = py_spy() if output else None
    if tool is None:
        yield
        return
    command = [tool, "record", "--pid", str(pid), "--subprocesses", "--nonblocking"]
    command += ["--rate", "50", "--format", "raw", "--output", str(output)]
    recorder = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        yield
    finally:
        os.killpg(recorder.pid, signal.SIGINT)  # py-spy writes its file on SIGINT
        try:
            recorder.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(recorder.pid, signal.SIGKILL)
            recorder.wait(timeout=10)


def frame_name(frame: str) -> str:
    """'func (path/to/module.py:12)' -> 'module.py:func'."""
    name, _, where = frame.partition(" (")
    return f"{Path(where.split(':')[0]).name}:{name}" if where else name


def summarise(path: Path, top: int = 25) -> str:
    """Per process: samples, then the functions with most inclusive and self samples."""
    inclusive: dict[str, Counter] = {}
    own: dict[str, Counter] = {}
    totals: Counter = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = stack.split(";")
        # with --subprocesses a child's stack starts with its ancestors' "process" frames
        last = max(i for i, frame in enumerate(frames) if PROCESS.match(frame))
        process = frames[last].partition(":")[2].strip('"')[:70]
        samples = int(count)
        totals[process] += samples
        names = [frame_name(frame) for frame in frames[last + 1 :]]
        for name in set(names):
            inclusive.setdefault(process, Counter())[name] += samples
        if names:
            own.setdefault(process, Counter())[names[-1]] += samples
    out = []
    for process, total in totals.most_common():
        out.append(f"== {process}: {total} samples")
        for title, counter in (("inclusive", inclusive), ("self", own)):
            out.append(f"  -- {title}")
            for name, samples in counter.get(process, Counter()).most_common(top):
                out.append(f"  {100 * samples / total:5.1f}%  {name}")
    return "\n".join(out)


if __name__ == "__main__":
    print(summarise(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 25))
