"""A linear SVM with temperature-scaled probabilities."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.svm import LinearSVC

SVM_C = 0.5
CALIBRATION_FOLDS = 3
# Search range for log(temperature); SVM margins are O(1), so this is generous.
LOG_TEMPERATURE_BOUNDS = (-5.0, 5.0)


def class_scores(decision: np.ndarray) -> np.ndarray:
    """Return one score column per class (binary SVMs give a single column)."""
    if decision.ndim == 1:
        return np.column_stack([-decision / 2, decision / 2])
    return decision


def fit_temperature(scores: np.ndarray, targets: np.ndarray) -> float:
    """Return the temperature that minimises the log loss of softmax(scores / T)."""

    def log_loss(log_temperature: float) -> float:
        log_probabilities = log_softmax(scores / np.exp(log_temperature), axis=1)
        return float(-log_probabilities[np.arange(len(targets)), targets].mean())

    result = minimize_scalar(log_loss, bounds=LOG_TEMPERATURE_BOUNDS, method="bounded")
    return float(np.exp(result.x))


class TemperatureScaledSVM(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """LinearSVC whose scores become probabilities through one fitted temperature.

    The temperature is fitted on cross-validated scores; it never changes which class scores
    highest, so the probabilities rank classes exactly as the SVM does.
    """

    def __init__(self, C: float = SVM_C, calibration_folds: int = CALIBRATION_FOLDS) -> None:
        self.C = C
        self.calibration_folds = calibration_folds

    def fit(self, features: Any, labels: Any) -> TemperatureScaledSVM:
        """Fit the SVM on all data and the temperature on out-of-fold scores."""
        labels = np.asarray(labels)
        folds = StratifiedKFold(n_splits=self.calibration_folds, shuffle=True, random_state=0)
        svm = LinearSVC(C=self.C)
        held_out = cross_val_predict(svm, features, labels, cv=folds, method="decision_function")
        self.svm_ = LinearSVC(C=self.C).fit(features, labels)
        self.classes_ = self.svm_.classes_
        targets = np.searchsorted(self.classes_, labels)
        self.temperature_ = fit_temperature(class_scores(held_out), targets)
        return self

    @property
    def coef_(self) -> np.ndarray:
        """Return the SVM weights, one row per class (one row in total for two classes)."""
        return np.asarray(self.svm_.coef_)

    @property
    def intercept_(self) -> np.ndarray:
        """Return the SVM intercepts."""
        return np.asarray(self.svm_.intercept_)

    def decision_function(self, features: Any) -> np.ndarray:
        """Return the SVM scores."""
        return np.asarray(self.svm_.decision_function(features))

    def predict_proba(self, features: Any) -> np.ndarray:
        """Return softmax(scores / temperature), one column per class."""
        return np.asarray(softmax(class_scores(self.decision_function(features)) / self.temperature_, axis=1))

    def predict(self, features: Any) -> np.ndarray:
        """Return the highest-scoring class for each row."""
        return np.asarray(self.classes_[class_scores(self.decision_function(features)).argmax(axis=1)])
