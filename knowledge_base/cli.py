"""Command line for the knowledge base, mounted by the main CLI as ``hotline kb``."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from knowledge_base.baseline import CharTfidfIndex
from knowledge_base.evaluate import EvaluationReport, evaluate, load_corpus, load_queries
from knowledge_base.search import SearchIndex

logger = logging.getLogger(__name__)

kb_app = typer.Typer(help="Knowledge-base search tools.", no_args_is_help=True, add_completion=False)

ExistingFile = Annotated[Path, typer.Option(exists=True, dir_okay=False, readable=True)]


@kb_app.callback()
def kb() -> None:
    """Knowledge-base search tools."""


@kb_app.command("evaluate")
def evaluate_command(
    corpus: Annotated[Path, typer.Option(exists=True, dir_okay=False, help='JSONL rows {"id","question","answer"}.')],
    queries: Annotated[Path, typer.Option(exists=True, dir_okay=False, help='JSONL rows {"query","expected"}.')],
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
    baseline: Annotated[
        bool, typer.Option("--baseline", help="Rank with plain character TF-IDF over the questions instead.")
    ] = False,
) -> None:
    """Build the search index over a corpus, run every query and report hit@k, MRR and latency."""
    _log_to_stderr()
    entries = load_corpus(corpus)
    checks = load_queries(queries)
    engine = "char_tfidf" if baseline else "hybrid"
    logger.info("evaluating %s search: %d entries, %d queries", engine, len(entries), len(checks))
    report = evaluate(entries, checks, CharTfidfIndex if baseline else SearchIndex.build)
    if json_output:
        typer.echo(json.dumps({"engine": engine, **report.as_dict()}, ensure_ascii=False))
    else:
        typer.echo(_summary(engine, report))


@kb_app.command("import-items")
def import_items_command(
    file: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="JSON, JSON-lines or CSV file of service items.")
    ] = None,
    from_platform: Annotated[
        bool, typer.Option("--from-platform", help="Fetch the catalogue from HOTLINE_PLATFORM_BASE_URL.")
    ] = False,
) -> None:
    """Import service items (政务服务事项) with their guides; known item codes are updated."""
    if (file is None) == (not from_platform):
        raise typer.BadParameter("give either --file or --from-platform")
    typer.echo(json.dumps(asyncio.run(_import_items(file)), ensure_ascii=False))


async def _import_items(file: Path | None) -> dict[str, int]:
    """Read the items from the file or the platform and store them in one transaction."""
    from hotline.config import get_settings
    from hotline.db import Database
    from hotline.db_types import utcnow
    from knowledge_base import service_items
    from knowledge_base.platform.client import PlatformClient

    settings = get_settings()
    if file is not None:
        items, source = service_items.parse_file(file.name, file.read_bytes()), "file"
    else:
        items, source = service_items.validate_rows(await PlatformClient(settings).service_items()), "platform"
    db = Database(settings.database_url)
    try:
        async with db.session() as session:
            return await service_items.import_items(session, items, source=source, now=utcnow())
    finally:
        await db.dispose()


@kb_app.command("import")
def import_command(
    file: Annotated[
        Path,
        typer.Option(
            exists=True, dir_okay=False, readable=True, help="Excel (.xlsx), CSV, JSON or JSON-lines table of entries."
        ),
    ],
    publish: Annotated[
        bool, typer.Option("--publish", help="Publish the entries at once instead of sending them to review.")
    ] = False,
) -> None:
    """Import a knowledge base (question, answer, similar phrasings, category, unit, ...); the same file again
    changes nothing, an edited one adds versions. Prints the counts as JSON."""
    from hotline.errors import DomainError

    try:
        counts = asyncio.run(_import_entries(file, publish))
    except DomainError as refused:
        typer.echo(f"{refused.message_zh} / {refused.message_en}", err=True)
        raise typer.Exit(2) from refused
    typer.echo(json.dumps(counts, ensure_ascii=False))


async def _import_entries(file: Path, publish: bool) -> dict[str, int]:
    """Check the whole file, then store it in one transaction with an audit entry."""
    from hotline.audit.service import record
    from hotline.config import get_settings
    from hotline.db import Database
    from hotline.db_types import utcnow
    from knowledge_base import imports

    rows = imports.parse_file(file.name, file.read_bytes())
    db = Database(get_settings().database_url)
    try:
        async with db.session() as session:
            counts = await imports.import_entries(
                session, rows, publish=publish, user_id=None, comment=f"批量导入：{file.name}"[:255], now=utcnow()
            )
            detail = {"file": file.name, "rows": len(rows), "publish": publish, **counts.as_dict()}
            record(session, action="kb_entry.imported", actor_username="cli", object_type="kb_import", detail=detail)
        return counts.as_dict()
    finally:
        await db.dispose()


def _summary(engine: str, report: EvaluationReport) -> str:
    """Return a one-line human-readable summary of a report."""
    return (
        f"{engine}: n={report.n} hit@1={report.hit_at_1:.3f} hit@3={report.hit_at_3:.3f} "
        f"hit@10={report.hit_at_10:.3f} mrr={report.mrr:.3f} p95={report.p95_ms:.1f}ms "
        f"build={report.build_ms / 1000:.1f}s"
    )


def _log_to_stderr() -> None:
    """Send log records to stderr when nobody configured logging (stdout carries the report)."""
    if not logging.getLogger().handlers:
        logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")


if __name__ == "__main__":
    kb_app()
