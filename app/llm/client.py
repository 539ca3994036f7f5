"""The one model client: an ordered chain of OpenAI-compatible links with retries, a circuit
breaker per link, structured (JSON) outputs validated by pydantic, and cost accounting.

`complete` never raises for a provider's trouble: when no link answers it returns a result with
outcome "exhausted" (or "deadline"), and the caller falls back to the offline agent, then a person.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, cast

import openai
from openai.types.chat import ChatCompletion
from pydantic import BaseModel, ValidationError

from app.llm.breaker import CircuitBreaker
from app.llm.costs import MemoryLedger, cost_usd, total_usd, utc_today
from app.observability.metrics import (
    LLM_BREAKER_OPEN,
    LLM_COST,
    LLM_FALLBACKS,
    LLM_REQUESTS,
    LLM_TOKENS,
)
from app.observability.tracing import annotate, span

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from openai.types.chat import ChatCompletionMessageParam

    from app.llm.costs import CostLedger
    from app.llm.settings import LinkSettings, LLMSettings

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)

Outcome = Literal["ok", "exhausted", "deadline", "offline"]
"""ok: a link answered valid JSON; exhausted: every link failed or was skipped; deadline: the
overall deadline ran out first; offline: no link is configured."""

REPAIR_PROMPT = (
    "Your previous answer was not valid: {error}\n"
    "Answer again with only the corrected JSON object, nothing else."
)
JSON_PROMPT = "Answer with one JSON object only, valid against this JSON Schema:\n{schema}"


@dataclass
class ChainResult(Generic[T]):
    """What one `complete` call came to, for the caller and for the metrics."""

    value: T | None
    """The validated answer; None unless outcome is "ok"."""
    outcome: Outcome
    link: str | None = None
    """Name of the link that answered."""
    model: str | None = None
    """Model of the link that answered."""
    attempts: int = 0
    """HTTP requests sent, over all links, retries and repairs."""
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    """Cost of every response received (failed repairs included), in US dollars."""
    fallbacks: int = 0
    """How many times the chain moved on to the next link."""
    reasons: list[str] = field(default_factory=list)
    """Why each link passed over did not answer, e.g. "primary: HTTP 503"."""


class _LinkFailed(Exception):
    """This link will not answer this call; try the next one."""


class _DeadlineReached(Exception):
    """The overall deadline ran out: our limit, not the provider's failure."""


@dataclass
class _Link:
    settings: LinkSettings
    client: openai.AsyncOpenAI
    breaker: CircuitBreaker


class ModelChain:
    """The ordered links of `LLMSettings`, tried in turn until one answers valid JSON."""

    def __init__(
        self,
        settings: LLMSettings,
        *,
        ledger: CostLedger | None = None,
    ) -> None:
        """`ledger`: where spend is kept (default: this process only)."""
        self.settings = settings
        self.ledger: CostLedger = ledger if ledger is not None else MemoryLedger()
        self._links = [
            _Link(
                link,
                openai.AsyncOpenAI(
                    base_url=link.base_url,
                    api_key=link.api_key.get_secret_value() or "unset",
                    # One retry loop, ours: it knows the deadline, the breaker and the next link.
                    max_retries=0,
                    timeout=link.timeout,
                ),
                CircuitBreaker(settings.breaker_failures, settings.breaker_reset_seconds),
            )
            for link in settings.links
        ]

    @property
    def enabled(self) -> bool:
        """Is any model configured? If not, the offline agent answers everything."""
        return bool(self._links)

    def breaker_states(self) -> dict[str, str]:
        """Link name → closed, open or half_open (for the llm_breaker_open gauge)."""
        return {link.settings.name: link.breaker.state for link in self._links}

    async def close(self) -> None:
        for link in self._links:
            await link.client.close()

    async def complete(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        schema: type[T],
        images: Sequence[bytes] = (),
    ) -> ChainResult[T]:
        """Ask the chain for an answer in the shape of `schema`.

        `messages` are OpenAI chat messages; `images` go into the last user message as base64
        data URLs (never as links a provider would fetch).
        """
        with span(
            "llm.complete", {"llm.schema": schema.__name__, "llm.images": len(images)}
        ) as current:
            result = await self._complete(messages, schema=schema, images=images)
            annotate(
                {
                    "llm.outcome": result.outcome,
                    "llm.link": result.link,
                    "gen_ai.response.model": result.model,
                    "llm.attempts": result.attempts,
                    "llm.fallbacks": result.fallbacks,
                    "gen_ai.usage.input_tokens": result.tokens_in,
                    "gen_ai.usage.output_tokens": result.tokens_out,
                    "llm.cost_usd": result.cost_usd,
                },
                current,
            )
        LLM_REQUESTS.labels(result.model or "none", result.outcome).inc()
        if result.fallbacks:
            LLM_FALLBACKS.inc(result.fallbacks)
        for link in self._links:
            LLM_BREAKER_OPEN.labels(link.settings.model).set(link.breaker.state == "open")
        return result

    async def _complete(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        schema: type[T],
        images: Sequence[bytes],
    ) -> ChainResult[T]:
        result: ChainResult[T] = ChainResult(None, "offline")
        if not self._links:
            return result
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.deadline_seconds
        prompt = _prompt(messages, schema, images)
        over_budget: bool | None = None
        for index, link in enumerate(self._links):
            name = link.settings.name
            if index:
                result.fallbacks += 1
            if link.settings.expensive and self.settings.daily_budget_usd is not None:
                if over_budget is None:
                    spent = await total_usd(self.ledger, utc_today())
                    over_budget = spent >= self.settings.daily_budget_usd
                if over_budget:
                    result.reasons.append(f"{name}: daily budget reached")
                    continue
            try:
                value = await self._answer(link, prompt, schema, result, deadline)
            except _LinkFailed as exc:
                log.warning("model link %s failed: %s", name, exc)
                result.reasons.append(f"{name}: {exc}")
                continue
            except _DeadlineReached:
                log.warning("model chain deadline reached on link %s", name)
                result.reasons.append(f"{name}: deadline reached")
                result.outcome = "deadline"
                return result
            result.value = value
            result.outcome = "ok"
            result.link = name
            result.model = link.settings.model
            return result
        result.outcome = "exhausted"
        return result

    async def _answer(
        self,
        link: _Link,
        prompt: list[dict[str, Any]],
        schema: type[T],
        result: ChainResult[T],
        deadline: float,
    ) -> T:
        content = await self._request(link, prompt, result, deadline)
        try:
            return schema.model_validate_json(_unfence(content))
        except ValidationError as exc:
            error = _short(exc)
        # One repair on the same link: the model usually fixes what it is told is wrong.
        repair = [
            *prompt,
            {"role": "assistant", "content": content},
            {"role": "user", "content": REPAIR_PROMPT.format(error=error)},
        ]
        content = await self._request(link, repair, result, deadline)
        try:
            return schema.model_validate_json(_unfence(content))
        except ValidationError as exc:
            raise _LinkFailed(f"invalid answer after a repair: {_short(exc)}") from None

    async def _request(
        self,
        link: _Link,
        messages: list[dict[str, Any]],
        result: ChainResult[T],
        deadline: float,
    ) -> str:
        """One chat completion with retries; the answer's text."""
        loop = asyncio.get_running_loop()
        settings = link.settings
        retries = 0
        reason = ""
        while True:
            if not link.breaker.allow():
                raise _LinkFailed(f"{reason}, circuit opened" if reason else "circuit open")
            remaining = deadline - loop.time()
            if remaining <= 0:
                link.breaker.release()
                raise _DeadlineReached
            result.attempts += 1
            wait: float | None = None
            # The link's timeout bounds the whole request: the SDK's own timeout is per read,
            # and a body dripping a few bytes a second would hold the customer until the
            # chain's deadline.
            deadline_first = remaining <= settings.timeout
            try:
                async with asyncio.timeout(min(remaining, settings.timeout)):
                    with span("llm.request", self._span_attributes(link, retries)):
                        response = await link.client.chat.completions.create(
                            model=settings.model,
                            messages=cast("list[ChatCompletionMessageParam]", messages),
                            response_format={"type": "json_object"},
                        )
            except TimeoutError:
                if deadline_first:
                    # Our deadline, whatever the provider would have done.
                    link.breaker.release()
                    raise _DeadlineReached from None
                link.breaker.failure()
                reason = f"timeout after {settings.timeout:g} s"
            except ValueError as exc:
                # The body is not JSON (cut short, an HTML error page): the SDK's decoder says so.
                link.breaker.failure()
                raise _LinkFailed(f"bad response: not JSON ({exc})") from None
            except openai.APIStatusError as exc:
                status = exc.status_code
                reason = f"HTTP {status}"
                if status in (400, 413, 422):
                    # The provider is up and refused this request: not its failure, no retry.
                    link.breaker.success()
                    raise _LinkFailed(reason) from None
                link.breaker.failure()
                if not (status in (408, 409, 429) or status >= 500):
                    raise _LinkFailed(reason) from None  # 401, 403, 404: next link at once
                if status == 429:
                    wait = _retry_after(exc.response.headers)
            except openai.APITimeoutError:
                link.breaker.failure()
                reason = f"timeout after {settings.timeout:g} s"
            except openai.APIConnectionError as exc:
                link.breaker.failure()
                reason = f"connection error: {exc.__cause__ or exc}"
            except openai.APIError as exc:
                # E.g. a body that is not a chat completion: the link is broken for us.
                link.breaker.failure()
                raise _LinkFailed(f"bad response: {exc}") from None
            else:
                if not isinstance(response, ChatCompletion):
                    # JSON, but not an object the SDK could read as a completion (e.g. a list).
                    link.breaker.failure()
                    raise _LinkFailed(f"bad response: a JSON {type(response).__name__}")
                link.breaker.success()
                await self._account(link, response, result)
                choice = response.choices[0] if response.choices else None
                return (choice.message.content if choice else None) or ""

            if retries >= settings.max_retries:
                raise _LinkFailed(f"{reason}, {retries + 1} attempt(s)")
            retries += 1
            if wait is None:
                # Exponential back-off with jitter, so replicas do not retry in step.
                base = self.settings.backoff_seconds * 2 ** (retries - 1)
                wait = base * random.uniform(0.5, 1.0)
            elif wait > self.settings.retry_after_max_seconds:
                raise _LinkFailed(f"{reason}, retry after {wait:g} s is too long")
            if loop.time() + wait >= deadline:
                # Waiting would use up the deadline: better to ask the next link now.
                raise _LinkFailed(f"{reason}, no time left to retry")
            await asyncio.sleep(wait)

    @staticmethod
    def _span_attributes(link: _Link, retries: int) -> dict[str, str | int]:
        return {
            "llm.link": link.settings.name,
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": link.settings.model,
            "llm.retry": retries,
        }

    async def _account(self, link: _Link, response: Any, result: ChainResult[T]) -> None:
        usage = response.usage
        tokens_in = int(usage.prompt_tokens) if usage else 0
        tokens_out = int(usage.completion_tokens) if usage else 0
        usd = cost_usd(link.settings, tokens_in, tokens_out)
        result.tokens_in += tokens_in
        result.tokens_out += tokens_out
        result.cost_usd += usd
        LLM_TOKENS.labels(link.settings.model, "in").inc(tokens_in)
        LLM_TOKENS.labels(link.settings.model, "out").inc(tokens_out)
        LLM_COST.labels(link.settings.model).inc(usd)
        await self.ledger.add(utc_today(), link.settings.model, usd, tokens_in, tokens_out)


def _prompt(
    messages: Sequence[Mapping[str, Any]], schema: type[BaseModel], images: Sequence[bytes]
) -> list[dict[str, Any]]:
    prompt = [dict(m) for m in messages]
    instruction = JSON_PROMPT.format(
        schema=json.dumps(schema.model_json_schema(), ensure_ascii=False)
    )
    # json_object mode wants "JSON" in the prompt; one system message first suits every provider.
    if prompt and prompt[0].get("role") == "system" and isinstance(prompt[0].get("content"), str):
        prompt[0]["content"] = f"{prompt[0]['content']}\n\n{instruction}"
    else:
        prompt.insert(0, {"role": "system", "content": instruction})
    if images:
        last_user = max((i for i, m in enumerate(prompt) if m.get("role") == "user"), default=None)
        if last_user is None:
            prompt.append({"role": "user", "content": ""})
            last_user = len(prompt) - 1
        content = prompt[last_user].get("content") or ""
        parts: list[dict[str, Any]] = (
            list(content) if isinstance(content, list) else [{"type": "text", "text": content}]
        )
        for image in images:
            parts.append({"type": "image_url", "image_url": {"url": data_url(image)}})
        prompt[last_user]["content"] = parts
    return prompt


def data_url(image: bytes) -> str:
    """`image` as a base64 data URL, its MIME type read from its first bytes (JPEG if unknown)."""
    mime = "image/jpeg"
    if image.startswith(b"\x89PNG\r\n\x1a\n"):
        mime = "image/png"
    elif image[:4] == b"RIFF" and image[8:12] == b"WEBP":
        mime = "image/webp"
    elif image[:6] in (b"GIF87a", b"GIF89a"):
        mime = "image/gif"
    return f"data:{mime};base64,{base64.b64encode(image).decode('ascii')}"


def _retry_after(headers: Mapping[str, str]) -> float | None:
    try:
        if "retry-after-ms" in headers:
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            when = parsedate_to_datetime(value)
            return max(0.0, (when - datetime.now(UTC)).total_seconds())
    except (ValueError, TypeError):
        return None


def _unfence(content: str) -> str:
    # Some models wrap JSON in a Markdown code fence even in JSON mode.
    text = content.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    return text


def _short(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']}" for e in error.errors()
    )[:500]
