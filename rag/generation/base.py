"""The generator interface: numbered passages and a question in, answer text (streamed) out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator, Protocol, Sequence

from ..types import Chunk

# What a backend writes when the passages hold no answer; verification recognises it.
NOT_IN_CORPUS = "NOT_IN_CORPUS"

_DECLINE = re.compile(
    r"NOT_IN_CORPUS|\b(?:passages?|documents?|context|corpus|sources?|text)s?\b[^.]{0,60}\b(?:do(?:es)?\s+not|don't|doesn't|did not|cannot|can't)\b[^.]{0,40}\b(?:contain|mention|include|say|provide|specify|answer|address|state|have)"
    r"|\b(?:I\s+(?:do\s+not|don't|cannot|can't)\s+(?:know|find|answer|determine|tell))"
    r"|\bno\s+(?:information|mention|details?)\s+(?:about|on|of|regarding)\b"
    r"|\b(?:not|isn't)\s+(?:mentioned|specified|stated|provided|given|addressed)\s+in\s+the\b",
    re.IGNORECASE)


def is_decline(text: str) -> bool:
    """True when generated text says the passages do not hold the answer."""
    return bool(_DECLINE.search(text))


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk as shown to a generator, numbered from 1."""

    n: int
    chunk: Chunk


def number_passages(chunks: Sequence[Chunk]) -> list[Passage]:
    """Number passages 1..n in the order given."""
    return [Passage(n, chunk) for n, chunk in enumerate(chunks, start=1)]


class Generator(Protocol):
    """A backend that writes an answer citing passages as [n]."""

    name: str

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        """Yield the answer text piece by piece."""
        ...
