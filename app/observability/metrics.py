"""Every Prometheus metric of kramar, defined in one place.

Label values are bounded sets (no chat ids, no SKUs), so the series count stays small.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CACHE_REQUESTS = Counter(
    "cache_requests_total",
    "Cache lookups by cache (product, vision, session) and result (hit, miss)",
    ["cache", "result"],
)
CACHE_BACKEND_ERRORS = Counter(
    "cache_backend_errors_total",
    "Cache operations that failed because the backend was unreachable (served as a miss)",
    ["backend"],
)
VISION_REQUESTS = Counter(
    "vision_requests_total",
    "Photo identifications by the source that answered (cache, photo_index, model, none)",
    ["source"],
)
VISION_LATENCY = Histogram(
    "vision_latency_seconds",
    "Time from photo bytes to an identification answer",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20),
)
VISION_CONFIDENCE = Histogram(
    "vision_confidence",
    "Confidence of photo identifications that named a product",
    buckets=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0),
)

LLM_REQUESTS = Counter(
    "llm_requests_total",
    "Model chain requests by the model that answered (none if no link did) and outcome",
    ["model", "outcome"],
)
LLM_TOKENS = Counter(
    "llm_tokens_total", "Tokens used by model and direction (in, out)", ["model", "direction"]
)
LLM_COST = Counter("llm_cost_usd_total", "Model spend in US dollars by model", ["model"])
LLM_FALLBACKS = Counter(
    "llm_fallbacks_total", "Moves from one model link to the next (failure, breaker or budget)"
)
LLM_BREAKER_OPEN = Gauge(
    "llm_breaker_open", "1 while the circuit breaker of a model link is open", ["model"]
)
