"""Retraining: the public base set plus the center's own corrections, a new version only if it is not worse.

``hotline classifier retrain`` reads the base set (``classify_train.jsonl`` in the shared data folder,
when present) and every order's latest operator classification that names a category (labelled
with its first-level category), holds out one example in five (chosen by a hash of the text, so
the slice is the same on every retrain and no version ever trains on it), trains on the rest,
and scores the new model and the active one on the held-out slice. The new version is always
written (with both figures in its metadata); it becomes active only if its macro-F1 is not below
the active model's, else it is refused with a message saying by how much.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from routing.classifier.dataset import DatasetError, LabelledTexts, file_sha256, read_labelled_jsonl
from routing.classifier.evaluation import evaluate
from routing.classifier.model import load, save
from routing.classifier.training import train
from routing.registry import ModelNotFound, activate, active_version, version_dir

HOLDOUT_BUCKETS = 5  # one example in five is held out
MIN_EXAMPLES_PER_LABEL = 10  # a category needs this many training examples to be learned
METRIC = "macro_f1"  # the official metric of the public task, and the one compared

log = logging.getLogger(__name__)


def held_out(text: str) -> bool:
    """Whether an example belongs to the held-out slice (stable across runs and machines; spaces ignored)."""
    digest = hashlib.blake2b("".join(text.split()).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % HOLDOUT_BUCKETS == 0


@dataclass
class RetrainResult:
    """What a retrain did: the new version, both figures on the held-out slice, and the decision."""

    version: str
    model_dir: Path
    activated: bool
    message: str
    new: dict[str, Any]
    active: dict[str, Any] | None
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "model_dir": str(self.model_dir),
            "activated": self.activated,
            "message": self.message,
            "new": self.new,
            "active": self.active,
            "data": self.data,
        }


def _split(examples: list[tuple[str, str]], *, min_per_label: int) -> tuple[LabelledTexts, LabelledTexts, list[str]]:
    """Training and held-out examples, without the labels too rare to learn (returned as the third item)."""
    train_rows = [(t, label) for t, label in examples if not held_out(t)]
    counts = Counter(label for _, label in train_rows)
    rare = sorted(label for label in {label for _, label in examples} if counts[label] < min_per_label)
    keep = [(t, label) for t, label in examples if label not in rare]
    train_part = [(t, label) for t, label in keep if not held_out(t)]
    test_part = [(t, label) for t, label in keep if held_out(t)]
    return _texts(train_part), _texts(test_part), rare


def _texts(rows: list[tuple[str, str]]) -> LabelledTexts:
    return LabelledTexts(texts=[t for t, _ in rows], labels=[label for _, label in rows])


def _scores(report: dict[str, Any]) -> dict[str, Any]:
    return {key: report[key] for key in ("model_version", "n", "macro_f1", "accuracy", "p99_ms")}


def retrain(
    *,
    base_file: Path | None,
    corrections: list[tuple[str, str]],
    model_dir: Path,
    by: str,
    min_per_label: int = MIN_EXAMPLES_PER_LABEL,
) -> RetrainResult:
    """Train, evaluate against the active model on the held-out slice, and activate only if not worse."""
    base = read_labelled_jsonl(base_file) if base_file else LabelledTexts([], [])
    examples = list(zip(base.texts, base.labels, strict=True)) + corrections
    train_set, holdout, rare = _split(examples, min_per_label=min_per_label)
    if not holdout.texts:
        raise DatasetError("no held-out examples: too little data to judge a new model")
    base_sha256 = file_sha256(base_file) if base_file else None
    data: dict[str, Any] = {
        "base_file": str(base_file) if base_file else None,
        "base_sha256": base_sha256,
        "base_examples": len(base),
        "corrections": len(corrections),
        "n_train": len(train_set),
        "n_holdout": len(holdout),
        "labels_too_rare": rare,
    }
    model = train(train_set, data_sha256=base_sha256)
    new = _scores(evaluate(model, holdout))
    current = active_version(model_dir)
    active = _active_scores(model_dir, current, holdout)
    activated = active is None or new[METRIC] >= active[METRIC]
    message = _decision(new, active, activated)
    model.metadata["retrain"] = {"holdout": new, "active_on_holdout": active, "activated": activated, **data}
    out = save(model, version_dir(model_dir, model.version))
    if activated:
        activate(model_dir, model.version, by=by, detail={"holdout": new, "replaced": current})
    log.info(message)
    return RetrainResult(model.version, out, activated, message, new, active, data)


def _active_scores(model_dir: Path, version: str | None, holdout: LabelledTexts) -> dict[str, Any] | None:
    if version is None:
        return None
    try:
        return _scores(evaluate(load(version_dir(model_dir, version)), holdout))
    except (OSError, ValueError, ModelNotFound) as exc:
        log.warning("active model %s cannot be loaded (%s): the new one replaces it", version, exc)
        return None


def _decision(new: dict[str, Any], active: dict[str, Any] | None, activated: bool) -> str:
    figures = f"new {new['model_version']}: {METRIC} {new[METRIC]:.4f}"
    if active is None:
        return f"activated {new['model_version']} ({figures} on {new['n']} held-out examples; no model was active)"
    figures += f"; active {active['model_version']}: {METRIC} {active[METRIC]:.4f} (same {new['n']} held-out examples)"
    if activated:
        return f"activated {new['model_version']}: not worse than the active model ({figures})"
    gap = active[METRIC] - new[METRIC]
    return f"refused {new['model_version']}: worse than the active model by {gap:.4f} {METRIC} ({figures})"
