"""Retraining: base set plus corrections, judged on a fixed held-out slice; a worse model is refused."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hotline.cli import app
from hotline.config import get_settings
from hotline.db import Database
from hotline.tickets.schemas import TicketCreate
from hotline.tickets.service import SYSTEM_ACTOR, create_ticket
from routing import repository
from routing.models import ClassificationExample
from routing.registry import ACTIVATIONS_FILE, active_version
from routing.retrain import held_out, retrain
from tests.routing.conftest import synthetic_examples, write_jsonl

runner = CliRunner()


def _noisy_training_part(rows: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The same examples, with the labels of the training part shuffled (the held-out part stays right)."""
    labels = [label for text, label in rows if not held_out(text)]
    random.Random(5).shuffle(labels)
    shuffled = iter(labels)
    return [(text, label if held_out(text) else next(shuffled)) for text, label in rows]


@pytest.fixture
def cli_settings(monkeypatch: pytest.MonkeyPatch, database_url: str, model_dir: Path) -> Iterator[None]:
    """`hotline` commands read their settings from the environment: point them at this test's database and models."""
    monkeypatch.setenv("HOTLINE_DATABASE_URL", database_url)
    monkeypatch.setenv("HOTLINE_MODEL_DIR", str(model_dir))
    monkeypatch.setenv("HOTLINE_SEED_DATA_DIR", "/nonexistent")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_held_out_slice_is_about_a_fifth_whatever_the_spacing() -> None:
    texts = [text for text, _ in synthetic_examples()]
    segmented = [" ".join(text) for text in texts]  # the same messages, spaced out: the same slice
    assert [held_out(t) for t in segmented] == [held_out(t) for t in texts]
    assert 0.12 < sum(map(held_out, texts)) / len(texts) < 0.28


def test_a_first_model_is_activated_and_a_worse_one_refused(tmp_path: Path, model_dir: Path) -> None:
    rows = synthetic_examples()
    good = write_jsonl(tmp_path / "good.jsonl", rows)
    first = retrain(base_file=good, corrections=[], model_dir=model_dir, by="test")
    assert first.activated and active_version(model_dir) == first.version and first.active is None
    assert first.new["macro_f1"] > 0.9 and first.data["n_holdout"] == first.new["n"] > 50
    bad = write_jsonl(tmp_path / "bad.jsonl", _noisy_training_part(rows))
    second = retrain(base_file=bad, corrections=[], model_dir=model_dir, by="test")
    assert not second.activated and active_version(model_dir) == first.version
    assert second.active is not None and second.active["model_version"] == first.version
    assert second.new["macro_f1"] < second.active["macro_f1"]
    assert second.message.startswith(f"refused {second.version}: worse than the active model by")
    assert f"{second.active['macro_f1']:.4f}" in second.message and f"{second.new['macro_f1']:.4f}" in second.message
    kept = json.loads((model_dir / second.version / "metadata.json").read_text(encoding="utf-8"))
    assert kept["retrain"]["activated"] is False and kept["retrain"]["holdout"] == second.new  # versioned, not lost
    third = retrain(base_file=good, corrections=[], model_dir=model_dir, by="test")  # as good: not worse
    assert third.activated and active_version(model_dir) == third.version
    log = (model_dir / ACTIVATIONS_FILE).read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["version"] for line in log] == [first.version, third.version]


async def test_operators_corrections_join_the_training_data(db: Database, tmp_path: Path, model_dir: Path) -> None:
    async with db.session() as session:
        for i in range(14):
            ticket = await create_ticket(session, data=TicketCreate(content=f"停水{i}"), actor=SYSTEM_ACTOR)
            assert ticket.id is not None
            for label in ("城乡建设", "水电气暖"):  # corrected twice: the latest label counts
                session.add(
                    ClassificationExample(
                        ticket_id=ticket.id,
                        text=f"小区停水第{i}天 自来水 停水",
                        category_label=label,
                        request_type="help",
                        urgency="utility_outage",
                    )
                )
        ticket = await create_ticket(session, data=TicketCreate(content="只改了紧急程度"), actor=SYSTEM_ACTOR)
        assert ticket.id is not None
        session.add(
            ClassificationExample(ticket_id=ticket.id, text="只改了紧急程度", request_type="help", urgency="urgent")
        )
    async with db.read_session() as session:
        corrections = await repository.training_corrections(session)
    assert len(corrections) == 14 and {label for _, label in corrections} == {"水电气暖"}
    base = write_jsonl(tmp_path / "base.jsonl", synthetic_examples())
    result = retrain(base_file=base, corrections=corrections, model_dir=model_dir, by="test")
    assert result.data["corrections"] == 14
    assert "水电气暖" in json.loads((model_dir / result.version / "metadata.json").read_text())["labels"]
    rare = retrain(base_file=base, corrections=corrections[:5], model_dir=model_dir, by="test")
    assert rare.data["labels_too_rare"] == ["水电气暖"]  # five examples are too few to learn a category


def test_the_command_reports_both_figures_and_fails_on_a_refusal(
    cli_settings: None, tmp_path: Path, model_dir: Path
) -> None:
    rows = synthetic_examples()
    good = write_jsonl(tmp_path / "good.jsonl", rows)
    first = runner.invoke(app, ["classifier", "retrain", "--base", str(good)])
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout.splitlines()[0])
    assert report["activated"] is True and report["model_dir"].startswith(str(model_dir))
    bad = write_jsonl(tmp_path / "bad.jsonl", _noisy_training_part(rows))
    refused = runner.invoke(app, ["classifier", "retrain", "--base", str(bad), "--out", str(model_dir)])
    assert refused.exit_code == 1
    assert "refused" in refused.stderr and "worse than the active model" in refused.stderr
    assert active_version(model_dir) == report["version"]
    listed = runner.invoke(app, ["classifier", "versions"])
    assert listed.stdout.splitlines()[-1].startswith(f"* {report['version']}")  # oldest last, the active one marked
    back = runner.invoke(app, ["classifier", "activate", json.loads(refused.stdout.splitlines()[0])["version"]])
    assert back.exit_code == 0 and active_version(model_dir) != report["version"]  # an administrator may overrule
    assert runner.invoke(app, ["classifier", "activate", "../elsewhere"]).exit_code != 0
