"""The generator interface: numbered passages and a question in, answer text (streamed) out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Protocol, Sequence

# The sentinel and the decline reader live with the marker grammar; re-exported for the backends.
from ..citations import NOT_IN_CORPUS, is_decline  # noqa: F401
from ..question_parts import QuestionPart
from ..types import Chunk


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

    def stream(self, question: str, passages: Sequence[Passage], parts: Sequence[QuestionPart] = ()) -> Iterator[str]:
        """Yield the answer text piece by piece."""
        ...
