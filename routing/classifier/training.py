"""Training and cross-validation of the category classifier."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.metadata import version as package_version
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold

from routing.classifier.calibration import CALIBRATION_FOLDS
from routing.classifier.dataset import DatasetError, LabelledTexts
from routing.classifier.model import CategoryClassifier, build_pipeline, new_version

N_JOBS = 2
CV_RANDOM_STATE = 42

logger = logging.getLogger(__name__)


def _check_trainable(labels: Sequence[str], *, cv_folds: int) -> None:
    """Refuse data the calibrated classifier (and the requested cross-validation) cannot use."""
    counts = Counter(labels)
    if len(counts) < 2:
        raise DatasetError("training needs at least two categories")
    needed = max(CALIBRATION_FOLDS, cv_folds)
    rare = sorted(label for label, count in counts.items() if count < needed)
    if rare:
        raise DatasetError(f"categories with fewer than {needed} examples: {', '.join(rare)}")


def _fold_predictions(
    texts: Sequence[str], labels: Sequence[str], train_idx: np.ndarray, test_idx: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Fit the uncalibrated model on one fold and predict its held-out part."""
    model = build_pipeline(calibrated=False)[1:]
    model.fit([texts[i] for i in train_idx], [labels[i] for i in train_idx])
    return test_idx, model.predict([texts[i] for i in test_idx])


def cross_validate_preprocessed(
    texts: Sequence[str], labels: Sequence[str], *, folds: int, n_jobs: int = N_JOBS
) -> dict[str, Any]:
    """Return out-of-fold macro-F1 and accuracy for already preprocessed texts.

    Temperature scaling never changes which class scores highest, so the bare SVM's
    predictions are the calibrated model's predictions.
    """
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=CV_RANDOM_STATE)
    jobs = (delayed(_fold_predictions)(texts, labels, tr, te) for tr, te in splitter.split(texts, labels))
    predicted = np.empty(len(labels), dtype=object)
    for test_idx, fold_predicted in Parallel(n_jobs=min(n_jobs, folds))(jobs):
        predicted[test_idx] = fold_predicted
    gold = np.asarray(labels, dtype=object)
    return {
        "folds": folds,
        "macro_f1": round(float(f1_score(gold, predicted, average="macro")), 4),
        "accuracy": round(float(accuracy_score(gold, predicted)), 4),
    }


def _metadata(data: LabelledTexts, *, metrics: dict[str, Any], data_sha256: str | None) -> dict[str, Any]:
    """Describe a freshly trained model."""
    now = datetime.now(UTC)
    return {
        "version": new_version(now),
        "created_at": now.isoformat(timespec="seconds"),
        "n_train": len(data),
        "label_counts": dict(sorted(Counter(data.labels).items())),
        "metrics": metrics,
        "data_sha256": data_sha256,
        "segmenter": f"rjieba {package_version('rjieba')}",
    }


def train(
    data: LabelledTexts, *, cv_folds: int = 0, data_sha256: str | None = None, n_jobs: int = N_JOBS
) -> CategoryClassifier:
    """Train the calibrated pipeline on all data, cross-validating first when cv_folds >= 2."""
    _check_trainable(data.labels, cv_folds=cv_folds)
    started = time.perf_counter()
    pipeline = build_pipeline()
    preprocessed = pipeline.named_steps["preprocess"].fit(data.texts).transform(data.texts)
    metrics: dict[str, Any] = {}
    if cv_folds >= 2:
        metrics = cross_validate_preprocessed(preprocessed, data.labels, folds=cv_folds, n_jobs=n_jobs)
        logger.info("cross-validation: %s", metrics)
    # The preprocessing step is stateless, so fitting the remaining steps fits the whole pipeline.
    pipeline[1:].fit(preprocessed, data.labels)
    metadata = _metadata(data, metrics=metrics, data_sha256=data_sha256)
    metadata["labels"] = [str(label) for label in pipeline.classes_]
    metadata["training_seconds"] = round(time.perf_counter() - started, 1)
    logger.info("trained model %s on %d examples", metadata["version"], len(data))
    return CategoryClassifier(pipeline=pipeline, metadata=metadata)
