"""Evaluation of a trained category classifier: quality and single-message latency."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from routing.classifier.dataset import LabelledTexts
from routing.classifier.model import CategoryClassifier

LATENCY_PERCENTILES = (50, 95, 99)
MACRO: dict[str, Any] = {"average": "macro", "zero_division": 0}


def _timed_predictions(model: CategoryClassifier, texts: list[str]) -> tuple[list[str], list[float], list[float]]:
    """Predict one message at a time, returning labels, wall-clock and CPU latencies in milliseconds.

    Wall-clock time is what a caller waits; the thread's CPU time is the work itself, which other
    processes on a busy machine do not inflate.
    """
    model.predict(texts[0])  # warm-up: loads the segmenter's dictionary outside the measurement
    labels: list[str] = []
    wall: list[float] = []
    cpu: list[float] = []
    for text in texts:
        started, started_cpu = time.perf_counter(), time.thread_time()
        labels.append(model.predict(text).label)
        cpu.append((time.thread_time() - started_cpu) * 1000)
        wall.append((time.perf_counter() - started) * 1000)
    return labels, wall, cpu


def _per_label(gold: list[str], predicted: list[str], labels: list[str]) -> dict[str, dict[str, float]]:
    """Return precision, recall, F1 and support for every label."""
    scores = precision_recall_fscore_support(gold, predicted, labels=labels, zero_division=0)
    precision, recall, f1, support = scores
    return {
        label: {
            "precision": round(float(precision[i]), 4),
            "recall": round(float(recall[i]), 4),
            "f1": round(float(f1[i]), 4),
            "support": int(support[i]),
        }
        for i, label in enumerate(labels)
    }


def evaluate(model: CategoryClassifier, data: LabelledTexts) -> dict[str, Any]:
    """Score the model on labelled data, timing each single-message prediction."""
    predicted, latencies, cpu_latencies = _timed_predictions(model, data.texts)
    labels = sorted(set(data.labels) | set(predicted))
    report: dict[str, Any] = {
        "model_version": model.version,
        "n": len(data),
        "macro_f1": round(float(f1_score(data.labels, predicted, labels=labels, **MACRO)), 4),
        "accuracy": round(float(accuracy_score(data.labels, predicted)), 4),
    }
    for prefix, measured in (("", latencies), ("cpu_", cpu_latencies)):
        values = np.percentile(measured, LATENCY_PERCENTILES)
        for percentile, value in zip(LATENCY_PERCENTILES, values, strict=True):
            report[f"{prefix}p{percentile}_ms"] = round(float(value), 3)
    report["per_label"] = _per_label(data.labels, predicted, labels)
    return report
