"""A federation-wide event vocabulary that no organization has to disclose.

Each organization turns an event into text it knows (the template, canonicalized so that
different parsers' renderings of one template agree, or ``<namespace>:<id>`` when it has no
template text) and hashes that text with a keyed HMAC-SHA256 into a fixed space of ``buckets``
token ids. Organizations that see the same template get the same token without exchanging
template lists; the coordinator sees only token ids. Token ids 0-2 are reserved: padding before a
session starts, the end of a session, and events outside the model's known vocabulary.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

PAD, EOS, UNK = 0, 1, 2
RESERVED = 3
_WILDCARD = re.compile(r"<\*>|<[A-Z]+>")
_BLOCK_ID = re.compile(r"\bblk_(?=<\*>)")  # loghub's ``blk_<*>``: the block id is the variable
_NON_WORD = re.compile(r"[^0-9a-z]+")


def canonical_template(text: str) -> str:
    """Lower-case words of a template, wildcards and punctuation removed, numbers dropped:
    ``'<*>Receiving block<*>src:<*>dest:<*>'`` and Drain3's ``'Receiving block <*> src: /<*>
    dest: /<*>'`` both become ``'receiving block src dest'``. An HDFS block id is one variable
    whatever the parser wrote (loghub ``blk_<*>``, AIT and Drain3 ``<*>``)."""
    text = _BLOCK_ID.sub("", str(text))
    words = _NON_WORD.sub(" ", _WILDCARD.sub(" ", text).lower()).split()
    return " ".join(w for w in words if not w.isdigit())


@dataclass(frozen=True)
class EventVocabulary:
    """Keyed hashing of event text into ``buckets`` token ids (after the reserved ones)."""

    buckets: int = 4096
    key: str = "fedsec-logs"

    def __post_init__(self) -> None:
        if self.buckets < 2:
            raise ValueError("the vocabulary needs at least 2 buckets")

    @property
    def size(self) -> int:
        return self.buckets + RESERVED

    def token(self, text: str) -> int:
        digest = hmac.new(self.key.encode(), text.encode(), hashlib.sha256).digest()
        return RESERVED + int.from_bytes(digest[:8], "big") % self.buckets

    def event_text(self, event: str, templates: Mapping[str, str], namespace: str) -> str:
        """What gets hashed: the canonical template when known, else the namespaced id."""
        template = templates.get(event)
        if template is not None:
            canonical = canonical_template(template)
            if canonical:
                return canonical
        return f"{namespace}:{event}"

    def encode(
        self,
        sessions: Sequence[Sequence[str]],
        templates: Mapping[str, str],
        namespace: str,
    ) -> list[np.ndarray]:
        """Token ids per session (one hash per distinct event, cached)."""
        cache: dict[str, int] = {}
        encoded = []
        for events in sessions:
            ids = []
            for event in events:
                if event not in cache:
                    cache[event] = self.token(self.event_text(event, templates, namespace))
                ids.append(cache[event])
            encoded.append(np.asarray(ids, dtype=np.int64))
        return encoded

    def texts_by_token(self, templates: Mapping[str, str], namespace: str) -> dict[int, str]:
        """Token -> the organization's own template text (for naming events in alerts)."""
        return {
            self.token(self.event_text(event, templates, namespace)): text
            for event, text in templates.items()
        }

    def to_json(self) -> dict:
        return {"buckets": self.buckets, "key": self.key}

    @classmethod
    def from_json(cls, data: Mapping) -> EventVocabulary:
        return cls(int(data["buckets"]), str(data["key"]))


def known_tokens(sessions: Iterable[np.ndarray]) -> np.ndarray:
    """Sorted distinct token ids of some sessions (what an organization shares: hashed ids)."""
    parts = [np.unique(s) for s in sessions if len(s)]
    if not parts:
        return np.zeros(0, np.int64)
    return np.unique(np.concatenate(parts)).astype(np.int64)


def collisions(texts: Iterable[str], vocabulary: EventVocabulary) -> int:
    """How many distinct event texts share a bucket with another (measured in simulation only:
    a real federation never gathers the texts)."""
    distinct = set(texts)
    tokens = [vocabulary.token(t) for t in distinct]
    _, counts = np.unique(tokens, return_counts=True)
    return int(counts[counts > 1].sum())
