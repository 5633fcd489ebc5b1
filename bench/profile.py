"""Sampling a server under load with py-spy (``pip install py-spy``), summarised by package and by our functions."""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

IDLE = ("Condition.wait", "Runner.run", "_worker (concurrent", "select (selectors", "poll (selectors")
OURS = ("hotline/", "routing/", "knowledge_base/", "web/")
NOT_OURS = ("hotline/cli.py", "hotline/serving.py")  # what starts the server: every sample is under it
PYTHON_FRAME = re.compile(r"\(\S+:\d+\)$")  # "function (path/to/file.py:123)"


def py_spy() -> str | None:
    """The py-spy executable next to this Python, or on the PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


@contextlib.contextmanager
def sampling(pid: int, seconds: float, out: Path) -> Iterator[None]:
    """Record ``pid`` and its children for ``seconds`` while the block runs (nothing if py-spy is missing)."""
    executable = py_spy()
    if executable is None:
        yield
        return
    command = [executable, "record", "-p", str(pid), "--subprocesses", "-d", f"{seconds:.0f}", "-r", "100"]
    process = subprocess.Popen(
        [*command, "-f", "raw", "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield
    finally:
        process.wait(timeout=seconds + 60)


def _package(frame: str) -> str:
    match = re.search(r"\(([^)]*)\)", frame)
    path = match.group(1) if match else frame
    if "site-packages/" in path:
        return path.split("site-packages/")[1].split("/")[0].split(".")[0]
    if "/lib/python3" in path:
        return "Python standard library"
    return path.split("/")[0] if "/" in path else path


def summary(raw: Path, top: int = 8) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """Busy samples by the package of the running frame, and by our own functions (inclusive)."""
    packages: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines() if raw.exists() else []:
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if not frames or any(marker in frames[-1] for marker in IDLE) or not PYTHON_FRAME.search(frames[-1]):
            continue  # idle, or a process sampled with no Python frame (only its command line, which has ";" in it)
        total += int(count)
        packages[_package(frames[-1])] += int(count)
        for frame in {
            f.split(" (")[0] + " (" + f.split("(")[-1].split(":")[0] + ")"
            for f in frames
            if any(o in f for o in OURS) and not any(n in f for n in NOT_OURS)
        }:
            ours[frame] += int(count)
    if not total:
        return [], []
    return (
        [(name, n / total) for name, n in packages.most_common(top)],
        [(name, n / total) for name, n in ours.most_common(top)],
    )
