"""Command line for the category classifier: `hotline classifier train|evaluate`."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from routing.classifier.dataset import DatasetError, LabelledTexts, file_sha256, read_labelled_jsonl
from routing.classifier.evaluation import evaluate as evaluate_model
from routing.classifier.model import load, save
from routing.classifier.training import train as train_model

classifier_app = typer.Typer(help="Train and evaluate the request category classifier.", no_args_is_help=True)

DataOption = Annotated[
    Path,
    typer.Option("--data", exists=True, dir_okay=False, readable=True, help='JSONL rows {"text", "label"}.'),
]

ModelOption = Annotated[
    Path,
    typer.Option("--model", exists=True, file_okay=False, help="Model directory written by `train`."),
]


def _configure_logging() -> None:
    """Send log records to stderr so stdout carries only the command's result."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    logging.getLogger("routing").setLevel(logging.INFO)


def _echo_json(document: dict[str, Any]) -> None:
    """Print one JSON object on stdout."""
    typer.echo(json.dumps(document, ensure_ascii=False, sort_keys=True))


def _read(path: Path) -> LabelledTexts:
    """Read a labelled JSONL file, turning format problems into a CLI error."""
    try:
        return read_labelled_jsonl(path)
    except DatasetError as exc:
        raise typer.BadParameter(str(exc), param_hint="--data") from exc


@classifier_app.command()
def train(
    data: DataOption,
    out: Annotated[Path, typer.Option("--out", file_okay=False, help="Model directory to write.")],
    cv: Annotated[int, typer.Option("--cv", min=0, help="Cross-validation folds (0 = skip).")] = 0,
) -> None:
    """Train a new model version on DATA and write it to OUT."""
    if cv == 1:
        raise typer.BadParameter("use 0 (no cross-validation) or at least 2 folds", param_hint="--cv")
    _configure_logging()
    examples = _read(data)
    try:
        model = train_model(examples, cv_folds=cv, data_sha256=file_sha256(data))
    except DatasetError as exc:
        raise typer.BadParameter(str(exc), param_hint="--data") from exc
    save(model, out)
    summary_keys = ("version", "n_train", "labels", "metrics", "training_seconds")
    _echo_json({"model_dir": str(out), **{key: model.metadata[key] for key in summary_keys}})


@classifier_app.command()
def evaluate(
    model: ModelOption,
    data: DataOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Evaluate the model in MODEL on labelled DATA (macro-F1, accuracy, latency)."""
    _configure_logging()
    report = evaluate_model(load(model), _read(data))
    if as_json:
        _echo_json(report)
        return
    typer.echo(
        f"model {report['model_version']}: n={report['n']} macro_f1={report['macro_f1']} "
        f"accuracy={report['accuracy']} p99_ms={report['p99_ms']}"
    )
    for label, scores in report["per_label"].items():
        typer.echo(f"  {label}: f1={scores['f1']} support={scores['support']}")


if __name__ == "__main__":
    classifier_app()
