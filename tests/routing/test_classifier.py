"""Category classifier: train and evaluate through the CLI on a sample of the public data."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from routing.classifier.cli import classifier_app
from routing.classifier.dataset import file_sha256
from routing.classifier.model import CategoryClassifier, load

DATA_FILE = Path(__file__).resolve().parents[3] / "shared" / "data" / "classify_train.jsonl"
TRAIN_PER_LABEL = 60
HELD_OUT_PER_LABEL = 20
CHANCE_ACCURACY = 1 / 7

SampleFiles = tuple[Path, Path]  # (train.jsonl, held_out.jsonl)
Trained = tuple[Path, dict[str, Any]]  # (model directory, summary printed by `train`)

runner = CliRunner()


def _write_jsonl(path: Path, rows: list[dict[str, str]]) -> Path:
    """Write rows as JSONL (keeping an extra key, which the CLI must ignore)."""
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def sample_files(tmp_path_factory: pytest.TempPathFactory) -> SampleFiles:
    """Split a per-category sample of the public training file into train and held-out files."""
    if not DATA_FILE.exists():
        pytest.skip(f"{DATA_FILE} is not available")
    by_label: dict[str, list[dict[str, str]]] = defaultdict(list)
    with DATA_FILE.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            by_label[row["label"]].append(row)
    train, held_out = [], []
    for rows in by_label.values():
        picked = random.Random(7).sample(rows, TRAIN_PER_LABEL + HELD_OUT_PER_LABEL)
        train += picked[:TRAIN_PER_LABEL]
        held_out += picked[TRAIN_PER_LABEL:]
    directory = tmp_path_factory.mktemp("classifier-data")
    train_file = _write_jsonl(directory / "train.jsonl", train)
    return train_file, _write_jsonl(directory / "held_out.jsonl", held_out)


@pytest.fixture(scope="module")
def trained(sample_files: SampleFiles, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """Train a model with `classifier train --cv 3` and return its directory and printed summary."""
    out = tmp_path_factory.mktemp("classifier-model") / "model"
    args = ["train", "--data", str(sample_files[0]), "--out", str(out), "--cv", "3"]
    result = runner.invoke(classifier_app, args)
    assert result.exit_code == 0, result.output
    return out, json.loads(result.stdout)


@pytest.fixture(scope="module")
def model(trained: Trained) -> CategoryClassifier:
    """Load the trained model directory."""
    return load(trained[0])


def test_train_writes_a_versioned_model_directory(trained: Trained, sample_files: SampleFiles) -> None:
    out, summary = trained
    metadata = json.loads((out / "metadata.json").read_text(encoding="utf-8"))
    assert (out / "pipeline.joblib").is_file()
    assert metadata["version"] == summary["version"]
    assert metadata["n_train"] == 7 * TRAIN_PER_LABEL
    assert len(metadata["labels"]) == 7
    assert metadata["data_sha256"] == file_sha256(sample_files[0])
    assert metadata["metrics"]["folds"] == 3
    assert summary["metrics"]["macro_f1"] > 3 * CHANCE_ACCURACY
    assert {"created_at", "sklearn_version"} <= metadata.keys()


def test_evaluate_prints_json_well_above_chance(trained: Trained, sample_files: SampleFiles) -> None:
    args = ["evaluate", "--model", str(trained[0]), "--data", str(sample_files[1]), "--json"]
    result = runner.invoke(classifier_app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["n"] == 7 * HELD_OUT_PER_LABEL
    assert report["accuracy"] > 4 * CHANCE_ACCURACY
    assert report["macro_f1"] > 4 * CHANCE_ACCURACY
    assert 0 < report["p99_ms"] < 1000
    assert set(report["per_label"]) == set(trained[1]["labels"])


def test_prediction_has_calibrated_top3(model: CategoryClassifier) -> None:
    prediction = model.predict("A市A1区某小学违规补课并收取补课费，家长负担很重，请教育局查处。")
    assert prediction.label in model.labels
    assert [label for label, _ in prediction.top3][0] == prediction.label
    probabilities = [probability for _, probability in prediction.top3]
    assert probabilities == sorted(probabilities, reverse=True)
    assert prediction.confidence == probabilities[0]
    assert 0 < sum(probabilities) <= 1.0001


def test_fast_prediction_matches_the_pipeline(model: CategoryClassifier, sample_files: SampleFiles) -> None:
    lines = sample_files[1].read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["text"] for line in lines[:20]]
    assert [model.predict(text) for text in texts] == model.predict_many(texts)


def test_raw_and_segmented_forms_get_the_same_prediction(model: CategoryClassifier) -> None:
    raw = "投诉A市A3区魏家坡小区脏乱差，垃圾无人清运，社区反映多次得不到解决！"
    segmented = "投诉 A3 区 魏家坡 小区 脏乱差 垃圾 无人 清运 社区 反映 多次 得不到 解决"
    assert model.predict(raw).label == model.predict(segmented).label


def test_train_rejects_rows_without_a_label(tmp_path: Path) -> None:
    data = _write_jsonl(tmp_path / "bad.jsonl", [{"text": "停水三天了"}])
    result = runner.invoke(classifier_app, ["train", "--data", str(data), "--out", str(tmp_path / "m")])
    assert result.exit_code != 0
    assert "label" in result.output
    assert not (tmp_path / "m").exists()
