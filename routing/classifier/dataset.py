"""Labelled examples for the category classifier, read from JSONL files."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

_HASH_CHUNK_BYTES = 1 << 20


class DatasetError(ValueError):
    """A training or evaluation file that cannot be used."""


@dataclass(frozen=True)
class LabelledTexts:
    """Parallel lists of message texts and their category labels."""

    texts: list[str]
    labels: list[str]

    def __len__(self) -> int:
        """Return the number of examples."""
        return len(self.texts)


def _parse_row(line: str, *, path: Path, line_no: int) -> tuple[str, str]:
    """Return (text, label) from one JSONL line; other keys are ignored."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}:{line_no}: not valid JSON ({exc.msg})") from exc
    if not isinstance(row, dict):
        raise DatasetError(f"{path}:{line_no}: expected a JSON object")
    text, label = row.get("text"), row.get("label")
    if not isinstance(text, str) or not isinstance(label, str) or not label:
        raise DatasetError(f"{path}:{line_no}: needs string fields 'text' and 'label'")
    return text, label


def read_labelled_jsonl(path: Path) -> LabelledTexts:
    """Read rows {"text", "label"} from a JSONL file, skipping blank lines."""
    texts: list[str] = []
    labels: list[str] = []
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            text, label = _parse_row(line, path=path, line_no=line_no)
            texts.append(text)
            labels.append(label)
    if not texts:
        raise DatasetError(f"{path}: no examples")
    return LabelledTexts(texts=texts, labels=labels)


def file_sha256(path: Path) -> str:
    """Return the hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()
