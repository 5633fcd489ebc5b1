"""Writing one section of docs/PERFORMANCE.md, leaving the other benchmarks' sections alone."""

from __future__ import annotations

import os
import platform
import re
from datetime import datetime
from pathlib import Path

REPORT = Path(__file__).resolve().parents[1] / "docs" / "PERFORMANCE.md"
HEADER = "# Performance\n\nEach section is written by its benchmark; the command to reproduce it is in the section.\n"


def machine() -> str:
    """A one-line description of the machine the figures come from."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB RAM, Python {platform.python_version()}"


def write_section(name: str, body: str) -> None:
    """Replace (or add) the section between this benchmark's markers."""
    text = REPORT.read_text(encoding="utf-8") if REPORT.exists() else HEADER
    measured = f"_Measured {datetime.now():%Y-%m-%d %H:%M} on {machine()}._"
    stamped = f"<!-- {name}:begin -->\n{body.rstrip()}\n\n{measured}\n<!-- {name}:end -->"
    pattern = re.compile(rf"<!-- {re.escape(name)}:begin -->.*?<!-- {re.escape(name)}:end -->", re.S)
    text = pattern.sub(lambda _: stamped, text) if pattern.search(text) else f"{text.rstrip()}\n\n{stamped}\n"
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(text, encoding="utf-8")
