"""The `kramar` command."""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING, Any

import click
from pydantic import ValidationError

from app.admin.commands import admin
from app.catalog.commands import catalog
from app.config import describe_settings, explain_invalid, get_settings
from app.evals.commands import eval_command
from app.llm.commands import costs
from app.observability.logs import configure_logging
from app.rag.commands import reindex_command

if TYPE_CHECKING:
    from collections.abc import Coroutine


def run(coro: Coroutine[Any, Any, int | None]) -> None:
    """Run a command's coroutine and exit with its status (0 when it returns None)."""
    sys.exit(asyncio.run(coro) or 0)


@click.group()
@click.version_option(package_name="kramar")
def main() -> None:
    """kramar: the AI sales assistant of a clothing shop on Telegram."""
    try:
        settings = get_settings()
    except ValidationError as error:  # refuse to start, naming each variable to fix
        raise click.ClickException(explain_invalid(error)) from None
    configure_logging(settings)


@main.command()
@click.option("--host", default=None, help="Address to listen on [default: KRAMAR_HOST].")
@click.option("--port", default=None, type=int, help="Port to listen on [default: KRAMAR_PORT].")
def serve(host: str | None, port: int | None) -> None:
    """Serve the API and the bot until interrupted."""
    from app.server import create_app
    from app.serving import serve as serve_http

    settings = get_settings()
    serve_http(
        create_app(settings),
        settings.http,
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level.lower(),
    )


@main.command()
def chat() -> None:
    """Talk to the shop in this terminal, as a Telegram customer would (no account needed)."""
    from app.bot.terminal import chat_loop, terminal_settings
    from app.services import open_services

    settings = terminal_settings(get_settings())

    def read() -> str | None:
        try:
            return input()
        except EOFError:
            return None

    async def go() -> None:
        # A first run on an empty database gets the demo shop, so there is something to buy.
        async with open_services(settings, seed_empty=True) as services:
            click.echo(
                "Пишіть повідомлення; /photo ШЛЯХ — фото; число — кнопка; /contact НОМЕР ІМ'Я; "
                "/manager ТЕКСТ — відповісти як менеджер; /bot — повернути розмову боту; "
                "/quit — вихід."
            )
            await chat_loop(services, sys.stdout, read)

    run(go())


@main.command()
@click.option(
    "--check",
    is_flag=True,
    help="Change nothing: exit 0 if the schema is current, 1 if it is behind or unreachable.",
)
@click.option(
    "--wait",
    "wait_seconds",
    type=click.FloatRange(min=0),
    default=0.0,
    help="Seconds to keep retrying while the database is unreachable (or, with --check, behind).",
)
def migrate(check: bool, wait_seconds: float) -> None:
    """Bring the database schema up to date (or, with --check, tell whether it is).

    `--check --wait N` is what a pod's init container runs to wait for the database and for the
    migration Job; several migrators at once are safe (they take turns on an advisory lock).
    """
    import time

    from sqlalchemy.exc import DBAPIError

    from app.db import migrate as migrations
    from app.db.runtime import open_database

    async def attempt() -> str:
        async with open_database(get_settings(), check_schema=False) as db:
            if check:
                await migrations.ensure_current(db.engine)
            else:
                await migrations.upgrade(db.engine)
            return ", ".join(sorted(await migrations.current_revisions(db.engine)))

    async def go() -> int:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                revisions = await attempt()
            except (OSError, DBAPIError, migrations.SchemaBehindError) as error:
                # OSError: refused, unresolvable or timed out; DBAPIError: the server said no
                # (starting up, auth); or the schema is behind. Retried until the deadline.
                if time.monotonic() >= deadline:
                    click.echo(f"database not ready: {describe_error(error)}", err=True)
                    return 1
                click.echo(f"waiting for the database: {describe_error(error)}", err=True)
                await asyncio.sleep(min(2.0, max(deadline - time.monotonic(), 0.0)))
                continue
            click.echo(f"database schema at {revisions}" + (" (current)" if check else ""))
            return 0

    run(go())


def describe_error(error: BaseException) -> str:
    """A one-line reason without the URL (it may carry the password)."""
    from app.db.migrate import SchemaBehindError

    if isinstance(error, SchemaBehindError):
        return str(error)
    return type(error).__name__


@main.command("operator")
@click.option(
    "-n",
    "--namespace",
    "namespaces",
    multiple=True,
    help="Namespace with catalog ConfigMaps (repeatable) [default: KRAMAR_OPERATOR_NAMESPACES].",
)
@click.option(
    "-A", "--all-namespaces", is_flag=True, help="Watch every namespace (needs a ClusterRole)."
)
def operator_command(namespaces: tuple[str, ...], all_namespaces: bool) -> None:
    """Run the catalog operator: ConfigMaps labelled kramar.io/catalog and catalog writes are
    kept in the database and the RAG index (kopf; liveness and metrics per KRAMAR_OPERATOR_*)."""
    from kramar_operator.run import run_operator

    settings = get_settings()
    watched = list(namespaces) or settings.operator.namespaces
    if not watched and not all_namespaces:
        raise click.UsageError(
            "name the namespaces to watch: --namespace NS, KRAMAR_OPERATOR_NAMESPACES, "
            "or --all-namespaces"
        )
    asyncio.run(run_operator(settings, namespaces=watched, clusterwide=all_namespaces))


@main.command("config")
def show_config() -> None:
    """Print every KRAMAR_ setting with its default, as a Markdown table."""
    click.echo("| variable | default | what it does |")
    click.echo("|---|---|---|")
    for name, default, description in describe_settings():
        shown = f"`{default}`" if default else "(unset)"
        click.echo(f"| `{name}` | {shown} | {description} |")


main.add_command(catalog)
main.add_command(admin)
main.add_command(costs)
main.add_command(reindex_command)
main.add_command(eval_command)


if __name__ == "__main__":
    main()
