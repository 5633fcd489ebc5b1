"""The active category model: versioned directories under one folder and a pointer to the active one.

``HOTLINE_MODEL_DIR`` (default ``var/models``) holds one directory per model version (written by
``routing.classifier.model.save``), a file ``ACTIVE`` naming the active version, and
``activations.jsonl``, the log of every activation. ``hotline classifier retrain`` writes a new
version and moves the pointer only when the new model is not worse than the active one.

Every process loads the active model at start and looks at the pointer again at most every
``HOTLINE_MODEL_CHECK_SECONDS`` (or when an administrator asks): a changed pointer is loaded in
a worker thread while the old model keeps answering, so activation needs no restart.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from routing.classifier.model import METADATA_FILE, CategoryClassifier, load

ACTIVE_FILE = "ACTIVE"
ACTIVATIONS_FILE = "activations.jsonl"
WARM_UP_TEXT = "小区路灯不亮"

log = logging.getLogger(__name__)


class ModelNotFound(LookupError):
    """No model directory of that version."""


def version_dir(model_dir: Path, version: str) -> Path:
    """The directory of one model version (the version is a plain name, never a path)."""
    if not version or "/" in version or "\\" in version or version.startswith("."):
        raise ModelNotFound(f"not a model version: {version!r}")
    return model_dir / version


def active_version(model_dir: Path) -> str | None:
    """The version the pointer names, or None before any model was activated."""
    try:
        return (model_dir / ACTIVE_FILE).read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def versions(model_dir: Path) -> list[dict[str, Any]]:
    """Every model version in the folder with its metadata, newest first."""
    found = []
    if model_dir.is_dir():
        for path in model_dir.iterdir():
            metadata = path / METADATA_FILE
            if path.is_dir() and metadata.is_file():
                found.append(json.loads(metadata.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: str(m.get("version", "")), reverse=True)


def activate(model_dir: Path, version: str, *, by: str, detail: dict[str, Any] | None = None) -> None:
    """Point ACTIVE at a version (atomically) and log who did it and why."""
    target = version_dir(model_dir, version)
    if not (target / METADATA_FILE).is_file():
        raise ModelNotFound(f"{target} is not a model directory")
    pointer = model_dir / ACTIVE_FILE
    tmp = pointer.with_name(f".{ACTIVE_FILE}.tmp")
    tmp.write_text(version + "\n", encoding="utf-8")
    os.replace(tmp, pointer)
    entry = {"version": version, "at": datetime.now(UTC).isoformat(timespec="seconds"), "by": by, **(detail or {})}
    with (model_dir / ACTIVATIONS_FILE).open("a", encoding="utf-8") as log_file:
        log_file.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")


@dataclass(frozen=True)
class LoadedModel:
    """A model in memory, with the version it was loaded as."""

    version: str
    classifier: CategoryClassifier
    loaded_at: datetime


class ModelRegistry:
    """This process's view of the active model, reloaded when the pointer moves.

    Loading happens in a thread (never on the event loop), one load at a time; the model in use is
    swapped in one assignment, so a request sees the old model or the new one, never half of one.
    """

    def __init__(self, model_dir: Path, *, check_seconds: float) -> None:
        self.model_dir = model_dir
        self.check_seconds = check_seconds
        self.loaded: LoadedModel | None = None
        self.error: str | None = None  # why the active version could not be loaded
        self._checked_at = float("-inf")
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None

    @property
    def classifier(self) -> CategoryClassifier | None:
        """The model to use now (None: no model was activated yet); looks for a new one now and then."""
        if time.monotonic() - self._checked_at >= self.check_seconds:
            self.reload_in_background()
        return self.loaded.classifier if self.loaded else None

    def load_now(self) -> bool:
        """Look at the pointer and load a changed version, in this thread; True if the model changed."""
        with self._lock:
            self._checked_at = time.monotonic()
            version = active_version(self.model_dir)
            if version == (self.loaded.version if self.loaded else None):
                return False
            try:
                classifier = load(version_dir(self.model_dir, version)) if version else None
                if classifier is not None:
                    classifier.predict(WARM_UP_TEXT)  # segmenter dictionary and scorer, before the first request
            except (OSError, ValueError, ModelNotFound) as exc:  # keep serving the model we have
                log.error("cannot load model %s: %s", version, exc)
                self.error = f"{version}: {exc}"
                return False
            self.loaded = LoadedModel(version, classifier, datetime.now(UTC)) if version and classifier else None
            self.error = None
            log.info("active category model: %s", version or "none")
            return True

    async def reload(self) -> bool:
        """Look at the pointer now, loading a changed version in a worker thread; True if it changed."""
        return await asyncio.to_thread(self.load_now)

    def reload_in_background(self) -> None:
        """Start looking at the pointer (and loading) in a daemon thread, unless that is under way."""
        if self._watcher is not None and self._watcher.is_alive():
            return
        self._checked_at = time.monotonic()
        self._watcher = threading.Thread(target=self.load_now, name="model-reload", daemon=True)
        self._watcher.start()


_registries: dict[Path, ModelRegistry] = {}


def registry_for(model_dir: Path, *, check_seconds: float) -> ModelRegistry:
    """The process-wide registry of a model folder (the API and the background jobs share it)."""
    key = model_dir.resolve()
    if key not in _registries:
        _registries[key] = ModelRegistry(model_dir, check_seconds=check_seconds)
    return _registries[key]
