"""The kopf handlers: catalog ConfigMaps into the database, the RAG index after every change.

Run with `kramar operator` (settings from `KRAMAR_*`), or `kopf run -m kramar_operator.handlers
--namespace NS [--standalone | --peering kramar] --liveness http://0.0.0.0:8080/healthz`.

A ConfigMap labelled `kramar.io/catalog` is synced when it is created, changed, and when the
operator starts (resume). Whether it needs importing is decided by the hash of what an import
reads (catalog, photos, prune flag) against the database's record, so label edits, the
operator's own annotations and restarts import nothing. The handler returns nothing: kopf would
store a returned dict in `.status`, which ConfigMaps do not have; the report is in annotations
and Events instead.
"""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

import kopf
from prometheus_client import start_http_server

from app.catalog.errors import CatalogFileError
from app.config import get_settings
from app.observability.logs import configure_logging
from app.rag.sync import observe_sync
from kramar_operator.runtime import Runtime, open_runtime
from kramar_operator.source import LABEL, SourceError, catalog_source
from kramar_operator.storage import DigestDiffBaseStorage
from kramar_operator.syncing import (
    LAST_ERROR,
    LAST_ERROR_AT,
    REPORT_ANNOTATIONS,
    SYNCED_HASH,
    error_annotations,
    report_annotations,
    sync_source,
)

if TYPE_CHECKING:
    from app.config import Settings

logger = logging.getLogger(__name__)

# kopf's own bookkeeping (last handled state, progress) under a prefix of its own: kopf leaves
# every annotation under a prefix it manages out of its diffs, and kramar.io/prune must count.
KOPF_PREFIX = "operator.kramar.io"
MAX_RETRY_DELAY = 300.0
# Events show the first problems; the full list is in the operator's log.
EVENT_PROBLEMS = 5


def configure_kopf(settings: kopf.OperatorSettings) -> None:
    """kopf's settings for this operator (applied at start-up, before any watch)."""
    # Logs stay logs: Events are what a person reads on the ConfigMap (syncs and failures).
    settings.posting.level = logging.WARNING
    settings.posting.reporting_component = "kramar-operator"
    # Real API servers end watches after 5-10 min; asking for 5 min and giving up 30 s later
    # ourselves means a stalled connection (a dead proxy in between) is noticed in minutes.
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.watching.connect_timeout = 30
    settings.networking.connect_timeout = 10
    settings.networking.request_timeout = 60
    # Only catalog ConfigMaps reach the operator, not every ConfigMap of the namespace.
    settings.watching.label_selectors["v1", "configmaps"] = LABEL
    # Least RBAC: the namespaces are named, so no list/watch of namespaces or CRDs is needed.
    settings.scanning.disabled = True
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=KOPF_PREFIX)
    settings.persistence.diffbase_storage = DigestDiffBaseStorage(
        prefix=KOPF_PREFIX,
        key="last-handled-configuration",
        # Our report annotations are written by this handler: they must not trigger it again.
        ignored_fields=[("metadata", "annotations", key) for key in REPORT_ANNOTATIONS],
    )


def use_app_logging(settings: Settings) -> None:
    """The app's log handler (JSON, redaction) instead of the one `kopf run` installs."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if type(handler).__module__.startswith("kopf."):
            root.removeHandler(handler)
    configure_logging(settings)
    # One access line per liveness probe (every 10 s) says nothing; errors still show.
    logging.getLogger("aiohttp.access").setLevel(max(logging.WARNING, root.level))


@kopf.on.startup()
async def start(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    app_settings = get_settings()
    use_app_logging(app_settings)
    configure_kopf(settings)
    stack = AsyncExitStack()
    memo.exit_stack = stack
    memo.runtime = await stack.enter_async_context(open_runtime(app_settings))
    port = app_settings.operator.metrics_port
    if port:
        server, _thread = start_http_server(port)
        stack.callback(server.server_close)
        stack.callback(server.shutdown)
        logger.info("metrics on :%d/metrics", port)


@kopf.on.cleanup()
async def stop(memo: kopf.Memo, **_: Any) -> None:
    stack = memo.get("exit_stack")
    if isinstance(stack, AsyncExitStack):
        await stack.aclose()


@kopf.on.probe(id="index_sync")
def index_sync_status(memo: kopf.Memo, **_: Any) -> dict[str, Any]:
    """Shown by the liveness endpoint; never fails it (a database outage is not a dead pod)."""
    runtime = memo.get("runtime")
    if not isinstance(runtime, Runtime):
        return {"started": False}
    report = runtime.index_sync.last_report
    return {
        "started": True,
        "failures": runtime.index_sync.failures,
        "last": report.summary() if report is not None else None,
    }


@kopf.on.resume("v1", "configmaps", labels={LABEL: kopf.PRESENT})
@kopf.on.create("v1", "configmaps", labels={LABEL: kopf.PRESENT})
@kopf.on.update("v1", "configmaps", labels={LABEL: kopf.PRESENT})
async def sync_catalog(
    body: kopf.Body,
    meta: kopf.Meta,
    namespace: str | None,
    name: str | None,
    patch: kopf.Patch,
    memo: kopf.Memo,
    retry: int,
    **_: Any,
) -> None:
    """Import the ConfigMap's catalog when its content is new to the database; report it."""
    runtime = memo.runtime
    assert isinstance(runtime, Runtime)
    try:
        source = catalog_source(
            namespace or "",
            name or "",
            body.get("data"),
            body.get("binaryData"),
            meta.annotations,
        )
        result = await sync_source(runtime, source)
    except (SourceError, CatalogFileError) as error:
        problems = error.problems if isinstance(error, CatalogFileError) else [str(error)]
        shown = "; ".join(problems[:EVENT_PROBLEMS])
        more = (
            f"; and {len(problems) - EVENT_PROBLEMS} more" if len(problems) > EVENT_PROBLEMS else ""
        )
        message = runtime.redact(f"{len(problems)} problem(s), nothing imported: {shown}{more}")
        observe_sync("configmap", "invalid")
        patch.metadata.annotations.update(error_annotations(message))
        kopf.event(body, type="Warning", reason="InvalidCatalog", message=message)
        for problem in problems:
            logger.warning("%s/%s: %s", namespace, name, runtime.redact(problem))
        # Permanent: retrying cannot fix the file; the next edit of the ConfigMap will.
        raise kopf.PermanentError(message) from error
    except Exception as error:
        delay = min(runtime.settings.operator.retry_seconds * 2**retry, MAX_RETRY_DELAY)
        message = runtime.redact(f"{type(error).__name__}: {error}")
        observe_sync("configmap", "error")
        logger.debug("%s/%s: sync failed", namespace, name, exc_info=True)
        patch.metadata.annotations.update(error_annotations(message))
        # Temporary: the database or the embedder is down, or migrations have not run yet.
        raise kopf.TemporaryError(
            f"catalog not synced (retry in {delay:.0f} s): {message}", delay=delay
        ) from error
    if result is None:  # imported before: only the report may need to catch up
        observe_sync("configmap", "skipped")
        if meta.annotations.get(SYNCED_HASH) != source.digest or LAST_ERROR in meta.annotations:
            cleared = {SYNCED_HASH: source.digest, LAST_ERROR: None, LAST_ERROR_AT: None}
            patch.metadata.annotations.update(cleared)
        return
    observe_sync("configmap", "synced", seconds=result.seconds, embedded=result.embedded)
    patch.metadata.annotations.update(report_annotations(source, result))
    message = result.message(source)
    logger.info("%s/%s synced: %s", namespace, name, message)
    kopf.event(body, type="Normal", reason="Synced", message=message)
