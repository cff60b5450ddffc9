"""Follow-up questions: rewrite "What planes carried it?" into a question that stands alone."""

from __future__ import annotations

import logging
import re
from typing import Protocol, Sequence

log = logging.getLogger(__name__)

Turn = tuple[str, str]  # (user question, assistant answer)

_REFERRING = re.compile(
    r"\b(it|its|they|them|their|theirs|he|him|his|she|her|hers|this|that|these|those|there|then|"
    r"the same|the former|the latter|one|ones|else|more|too|also|again)\b", re.IGNORECASE)
_CONTENT = re.compile(r"[A-Za-z0-9][\w'-]*")


class Rewriter(Protocol):
    """Turns a follow-up into a standalone question."""

    def rewrite(self, question: str, history: Sequence[Turn]) -> str:
        """The standalone form of ``question`` given the conversation so far."""
        ...


def needs_context(question: str) -> bool:
    """True when a question refers back (pronouns, "what about", or too few words to stand alone)."""
    words = _CONTENT.findall(question)
    return bool(_REFERRING.search(question)) or question.lower().startswith(("and ", "what about", "how about")) or len(words) <= 3


class ConcatenatingRewriter:
    """The cheap fallback: a follow-up is searched together with the previous question.

    Retrieval only needs the right words, not grammar: "What planes carried it?" searched as
    "What did Russia send to Cuba? What planes carried it?" finds the right passage.
    """

    def rewrite(self, question: str, history: Sequence[Turn]) -> str:
        """Prefix the last question when this one refers back to it."""
        if not history or not needs_context(question):
            return question
        return f"{history[-1][0].strip()} {question.strip()}"
