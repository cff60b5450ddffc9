"""The generator interface: numbered passages and a question in, answer text (streamed) out."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, Protocol, Sequence

# The sentinel and the decline reader live with the marker grammar; re-exported for the backends.
from ..citations import NOT_IN_CORPUS, is_decline  # noqa: F401
from ..question_parts import QuestionPart
from ..types import Chunk

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk as shown to a generator, numbered from 1."""

    n: int
    chunk: Chunk


def number_passages(chunks: Sequence[Chunk]) -> list[Passage]:
    """Number passages 1..n in the order given."""
    return [Passage(n, chunk) for n, chunk in enumerate(chunks, start=1)]


class Generator(Protocol):
    """A backend that writes an answer citing passages as [n].

    Besides answering, a backend says what it can lend the rest of the pipeline: the chat model
    the rewriter, the grader and the eval baseline ask too (``chat_model``; None for a backend
    without one, such as the extractive one), and the lock that every call to that model must
    hold (``lock``; None when the backend serves several calls at once)."""

    name: str

    @property
    def chat_model(self) -> BaseChatModel | None:
        """The chat model behind the backend, to share; None when it has none."""
        ...

    @property
    def lock(self) -> threading.Lock | None:
        """Held while the backend's model writes: it serves one call at a time; None when it serves many."""
        ...

    def stream(self, question: str, passages: Sequence[Passage], parts: Sequence[QuestionPart] = ()) -> Iterator[str]:
        """Yield the answer text piece by piece."""
        ...
