"""`kramar eval [vision|text|dialog|all]`."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from app.config import THRESHOLDS_FILE, DatabaseSettings, get_settings


@click.command("eval")
@click.argument(
    "suite", type=click.Choice(["vision", "text", "dialog", "all"]), default="all", required=False
)
@click.option(
    "--dataset",
    "dataset",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("evals"),
    show_default=True,
    help="Dataset folder with dataset.yaml (evals/README.md: a shop's own photos and messages).",
)
@click.option(
    "--database-url",
    default=None,
    help="Server for the scratch database kramar_eval [default: KRAMAR_DATABASE_URL or embedded].",
)
@click.option(
    "--report",
    "report_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for report.json and the reliability diagram [default: KRAMAR_DATA_DIR/evals].",
)
@click.option(
    "--write-thresholds",
    is_flag=True,
    help=f"Write the thresholds derived from the dev split to {THRESHOLDS_FILE}.",
)
@click.option(
    "--embedders",
    default="hashing,e5,openai",
    show_default=True,
    help="Embedders the text suite compares (those not available here are left out).",
)
def eval_command(
    suite: str,
    dataset: Path,
    database_url: str | None,
    report_dir: Path | None,
    write_thresholds: bool,
    embedders: str,
) -> None:
    """Measure the shop on a dataset; exit 1 when an enforced gate of evals/thresholds.yaml fails.

    Offline by default (photo index, local embedder, offline agent); each link of
    KRAMAR_LLM_LINKS is measured beside it on the same cases.
    """
    from pydantic import SecretStr

    from app.evals.dataset import DatasetError
    from app.evals.runner import Options, run_eval

    settings = get_settings()
    if database_url:
        settings = settings.model_copy(
            update={"database": DatabaseSettings(url=SecretStr(database_url))}
        )
    options = Options(
        suites=("vision", "text", "dialog") if suite == "all" else (suite,),
        dataset=dataset,
        report_dir=report_dir or settings.data_dir / "evals",
        write_thresholds=THRESHOLDS_FILE if write_thresholds else None,
        embedders=tuple(e.strip() for e in embedders.split(",") if e.strip()),
    )
    try:
        outcome = asyncio.run(run_eval(settings, options, click.echo))
    except DatasetError as error:
        for problem in error.problems:
            click.echo(problem, err=True)
        sys.exit(2)
    sys.exit(outcome.exit_code)
