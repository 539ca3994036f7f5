"""kopf's record of the last handled ConfigMap, small enough for an annotation.

kopf keeps the "essence" of the last handled state (labels, annotations, everything outside
metadata and status) in an annotation and compares it with the next state to find changes. For a
ConfigMap the essence is its whole `data` and `binaryData`: a catalog of 1,000 products (470 KB)
made kopf's patch fail (kmock refused the 1 MB body; a real API server refuses annotations over
256 KiB in all, below a ConfigMap's 1 MiB). Here the content is kept as its sha256 instead, which
still changes whenever the content does.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any, cast

import kopf

if TYPE_CHECKING:
    from collections.abc import Iterable

    from kopf._cogs.structs.dicts import FieldSpec

CONTENT_FIELDS = ("data", "binaryData")
DIGEST_FIELD = "contentDigest"


class DigestDiffBaseStorage(kopf.AnnotationsDiffBaseStorage):
    """`AnnotationsDiffBaseStorage` with a ConfigMap's data and binaryData as one digest."""

    def build(
        self, *, body: kopf.Body, extra_fields: Iterable[FieldSpec] | None = None
    ) -> kopf.BodyEssence:
        essence = cast("dict[str, Any]", super().build(body=body, extra_fields=extra_fields))
        content = {name: essence.pop(name) for name in CONTENT_FIELDS if name in essence}
        if content:
            encoded = json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
            essence[DIGEST_FIELD] = hashlib.sha256(encoded).hexdigest()
        return cast("kopf.BodyEssence", essence)
