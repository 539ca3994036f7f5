# syntax=docker/dockerfile:1
# One image for every kramar process: `kramar serve` (web and workers), `kramar migrate`, and the
# operator. Build: docker build -t kramar . ; try it: docker run -p 8000:8000 -v kramar-data:/data kramar
#
# Both stages start from the same Python 3.11 slim (Debian bookworm) base, pinned by digest so a
# rebuild gets the same bytes. To update it, take the new digest of the tag (docker buildx
# imagetools inspect python:3.11-slim-bookworm) and replace both lines; Renovate's dockerfile
# manager keeps tag@digest pairs like these current by itself.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

# --- builder: resolve nothing, install exactly uv.lock into /app/.venv ---------------------------
FROM ${PYTHON_IMAGE} AS builder
# uv from PyPI at a fixed version (the one the lock was made with).
RUN pip install --no-cache-dir uv==0.13.9
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11
WORKDIR /app
# Dependencies first, in a layer of their own: it is rebuilt only when the lock changes.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY app ./app
RUN uv sync --frozen --no-dev --no-editable

# --- runtime: the venv, the demo catalog, no build tools ----------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="kramar" \
      org.opencontainers.image.description="AI sales assistant of a clothing shop on Telegram" \
      org.opencontainers.image.source="https://github.com/kramar-shop/kramar" \
      org.opencontainers.image.url="https://github.com/kramar-shop/kramar" \
      org.opencontainers.image.documentation="https://github.com/kramar-shop/kramar#readme" \
      org.opencontainers.image.vendor="kramar" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="docker.io/library/python:3.11.14-slim-bookworm"

# A numeric user with a passwd entry: the embedded Postgres (initdb) looks its user up.
RUN groupadd --system --gid 10001 kramar \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin kramar \
    && mkdir -p /data \
    && chown 10001:10001 /data

WORKDIR /app
COPY --from=builder /app/.venv /app/.venv
COPY data/catalog ./data/catalog

# The root filesystem may be read-only: everything written goes to /data (the embedded Postgres,
# when KRAMAR_DATABASE_URL is unset) or /tmp (pgserver's lock file, temporary files; also the place
# for PROMETHEUS_MULTIPROC_DIR, e.g. /tmp/metrics, when it is set). Bytecode is compiled above.
ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    XDG_CACHE_HOME=/tmp/.cache \
    XDG_RUNTIME_DIR=/tmp \
    KRAMAR_DATA_DIR=/data \
    KRAMAR_LOG_FORMAT=json
VOLUME ["/data", "/tmp"]

USER 10001:10001
EXPOSE 8000
# uvicorn and kopf both finish in-flight work and exit on SIGTERM.
STOPSIGNAL SIGTERM
# For plain `docker run`; Kubernetes ignores it and uses the chart's probes on the same paths.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health/live', timeout=4)"]

ENTRYPOINT ["kramar"]
CMD ["serve", "--host", "0.0.0.0"]
