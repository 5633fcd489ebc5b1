"""Category classifier: the trained pipeline, its predictions and its versioned directory.

Features are TF-IDF word unigrams+bigrams, character 1-3-grams, and the words and character
1-3-grams of the message's first words (where the title is), fed to a linear SVM with
temperature-scaled probabilities.
A model directory holds `pipeline.joblib` and `metadata.json` (version, labels, metrics, ...).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

from routing.classifier.calibration import SVM_C, TemperatureScaledSVM
from routing.classifier.features import TextPreprocessor, build_features
from routing.classifier.preprocess import preprocess
from routing.classifier.scoring import LinearScorer

TOP_K = 3
MODEL_FORMAT = 1
PIPELINE_FILE = "pipeline.joblib"
METADATA_FILE = "metadata.json"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prediction:
    """A proposed category with its probability and the best alternatives."""

    label: str
    confidence: float
    top3: list[tuple[str, float]] = field(default_factory=list)


def build_classifier(*, calibrated: bool = True) -> BaseEstimator:
    """Return the linear SVM, with temperature-scaled probabilities when calibrated."""
    return TemperatureScaledSVM(C=SVM_C) if calibrated else LinearSVC(C=SVM_C)


def build_pipeline(*, calibrated: bool = True) -> Pipeline:
    """Return the untrained pipeline: preprocess, features, classifier."""
    return Pipeline(
        [
            ("preprocess", TextPreprocessor()),
            ("features", build_features()),
            ("classifier", build_classifier(calibrated=calibrated)),
        ]
    )


def _to_prediction(labels: Sequence[str], probabilities: np.ndarray) -> Prediction:
    """Build a Prediction from one row of class probabilities."""
    order = np.argsort(-probabilities, kind="stable")[:TOP_K]
    top = [(labels[i], round(float(probabilities[i]), 4)) for i in order]
    return Prediction(label=top[0][0], confidence=top[0][1], top3=top)


@dataclass
class CategoryClassifier:
    """A trained pipeline together with the metadata written next to it."""

    pipeline: Pipeline
    metadata: dict[str, Any] = field(default_factory=dict)
    _scorer: LinearScorer | None = field(default=None, init=False, repr=False)

    @property
    def labels(self) -> list[str]:
        """Return the category labels in the order of the probability columns."""
        return [str(label) for label in self.pipeline.classes_]

    @property
    def version(self) -> str:
        """Return the model version id ("" before the model is saved)."""
        return str(self.metadata.get("version", ""))

    def predict(self, text: str) -> Prediction:
        """Propose a category for one raw or segmented message (the fast path)."""
        if self._scorer is None:
            self._scorer = LinearScorer.from_pipeline(self.pipeline)
        max_chars = self.pipeline.named_steps["preprocess"].max_chars
        return _to_prediction(self.labels, self._scorer.predict_proba(preprocess(text, max_chars)))

    def predict_many(self, texts: Sequence[str]) -> list[Prediction]:
        """Propose categories for several messages through the scikit-learn pipeline."""
        probabilities = self.pipeline.predict_proba(list(texts))
        labels = self.labels
        return [_to_prediction(labels, row) for row in probabilities]


def new_version(now: datetime) -> str:
    """Return a sortable, timestamp-based model version id."""
    return now.strftime("%Y%m%dT%H%M%S%fZ")


def save(model: CategoryClassifier, out_dir: Path) -> Path:
    """Write the pipeline and metadata.json into out_dir (created if needed) and return it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    metadata = {"format": MODEL_FORMAT, "sklearn_version": sklearn.__version__, **model.metadata}
    metadata.setdefault("version", new_version(datetime.now(UTC)))
    metadata.setdefault("labels", model.labels)
    _replace_atomically(out_dir / PIPELINE_FILE, lambda tmp: joblib.dump(model.pipeline, tmp))
    _replace_atomically(out_dir / METADATA_FILE, lambda tmp: tmp.write_text(_dump_json(metadata), "utf-8"))
    model.metadata = metadata
    return out_dir


def load(model_dir: Path) -> CategoryClassifier:
    """Load a model directory written by save (trusted input: the pipeline is a pickle)."""
    metadata = json.loads((model_dir / METADATA_FILE).read_text(encoding="utf-8"))
    if metadata.get("format") != MODEL_FORMAT:
        raise ValueError(f"{model_dir}: unsupported model format {metadata.get('format')!r}")
    if metadata.get("sklearn_version") != sklearn.__version__:
        logger.warning(
            "model %s was trained with scikit-learn %s, running %s",
            metadata.get("version"),
            metadata.get("sklearn_version"),
            sklearn.__version__,
        )
    pipeline = joblib.load(model_dir / PIPELINE_FILE)
    return CategoryClassifier(pipeline=pipeline, metadata=metadata)


def _dump_json(document: dict[str, Any]) -> str:
    """Serialise metadata readably, keeping Chinese labels unescaped."""
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def _replace_atomically(target: Path, write: Callable[[Path], object]) -> None:
    """Write a file next to target and rename it over target, so readers never see half a file."""
    tmp = target.with_name(f".{target.name}.tmp")
    write(tmp)
    os.replace(tmp, target)
