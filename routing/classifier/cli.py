"""Command line for the category classifier: `hotline classifier train|evaluate|retrain|activate|versions`."""

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


OutOption = Annotated[
    Path | None,
    typer.Option("--out", file_okay=False, help="Folder of model versions (default HOTLINE_MODEL_DIR, var/models)."),
]


@classifier_app.command()
def retrain(
    out: OutOption = None,
    base: Annotated[
        Path | None,
        typer.Option(
            "--base", dir_okay=False, help="Public base set (default: classify_train.jsonl in the data folder)."
        ),
    ] = None,
    no_base: Annotated[bool, typer.Option("--no-base", help="Train on the corrections alone.")] = False,
    min_per_label: Annotated[
        int, typer.Option("--min-per-label", min=3, help="Fewest examples to learn a label.")
    ] = 10,
) -> None:
    """Train on the base set plus operators' corrections; activate the new version only if it is not worse."""
    import asyncio

    from hotline.config import get_settings
    from routing.retrain import retrain as run_retrain
    from routing.tasks import corrections_from

    _configure_logging()
    settings = get_settings()
    model_dir = out or settings.model_dir
    default_base = settings.seed_data_dir / "classify_train.jsonl"
    base_file = None if no_base else base or (default_base if default_base.is_file() else None)
    if base is not None and not base.is_file():
        raise typer.BadParameter(f"{base} does not exist", param_hint="--base")
    corrections = asyncio.run(corrections_from(settings.database_url))
    try:
        result = run_retrain(
            base_file=base_file, corrections=corrections, model_dir=model_dir, by="cli", min_per_label=min_per_label
        )
    except DatasetError as exc:
        raise typer.BadParameter(str(exc), param_hint="--base") from exc
    _echo_json(result.as_dict())
    typer.echo(result.message, err=True)
    if not result.activated:
        raise typer.Exit(code=1)


@classifier_app.command()
def activate(
    version: Annotated[str, typer.Argument(help="A version directory in the folder (e.g. to roll back).")],
    out: OutOption = None,
) -> None:
    """Make a model version the active one (every process picks it up without a restart)."""
    from hotline.config import get_settings
    from routing.registry import ModelNotFound
    from routing.registry import activate as point_at

    model_dir = out or get_settings().model_dir
    try:
        point_at(model_dir, version, by="cli", detail={"manual": True})
    except ModelNotFound as exc:
        raise typer.BadParameter(str(exc), param_hint="VERSION") from exc
    _echo_json({"active": version, "model_dir": str(model_dir)})


@classifier_app.command()
def versions(out: OutOption = None) -> None:
    """List the model versions in the folder, newest first, with their held-out figures."""
    from hotline.config import get_settings
    from routing.registry import active_version
    from routing.registry import versions as list_versions

    model_dir = out or get_settings().model_dir
    current = active_version(model_dir)
    for metadata in list_versions(model_dir):
        holdout = metadata.get("retrain", {}).get("holdout", {})
        marker = "*" if metadata.get("version") == current else " "
        typer.echo(
            f"{marker} {metadata.get('version')}  n_train={metadata.get('n_train')}  macro_f1={holdout.get('macro_f1')}"
        )


if __name__ == "__main__":
    classifier_app()
