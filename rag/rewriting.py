"""Follow-up questions: rewrite "What planes carried it?" into a question that stands alone."""

from __future__ import annotations

import logging
import re
from typing import Protocol, Sequence

from .citations import NOT_IN_CORPUS, strip_markers

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


REWRITE_PROMPT = """Rewrite the user's last question so that it can be understood without the conversation. Replace pronouns (it, they, he, she, this, that, there) with what they refer to. Keep it short. Do not answer it. Reply with the rewritten question only.

Conversation:
{conversation}

Last question: {question}
Rewritten question:"""


class LLMRewriter:
    """Rewrites follow-ups with a chat model, within a time budget; falls back to the cheap
    rewriter when the model is busy with another answer, too slow, or says something odd."""

    def __init__(self, model: object, lock: object | None = None, budget_s: float = 6.0, max_tokens: int = 48) -> None:
        self.model = model
        self.lock = lock              # the generator's lock: the model serves one call at a time
        self.budget_s = budget_s
        self.max_tokens = max_tokens
        self.fallback = ConcatenatingRewriter()

    def rewrite(self, question: str, history: Sequence[Turn]) -> str:
        """The standalone question, or the fallback's when the model cannot give one in time."""
        if not history or not needs_context(question):
            return question
        import time

        from langchain_core.messages import HumanMessage

        conversation = "\n".join(f"User: {q}\nAssistant: {_first_sentences(a)}" for q, a in history[-3:])
        prompt = REWRITE_PROMPT.format(conversation=conversation, question=question)
        if self.lock is not None and not self.lock.acquire(timeout=0.05):  # type: ignore[attr-defined]
            return self.fallback.rewrite(question, history)
        started = time.monotonic()
        pieces: list[str] = []
        try:
            for chunk in self.model.stream([HumanMessage(prompt)], max_tokens=self.max_tokens):  # type: ignore[attr-defined]
                pieces.append(str(chunk.content))
                if time.monotonic() - started > self.budget_s or "\n" in "".join(pieces).strip():
                    break
        except Exception:  # a rewrite is an optimisation: never fail the question over it
            log.warning("question rewriting failed; using the fallback", exc_info=True)
            return self.fallback.rewrite(question, history)
        finally:
            if self.lock is not None:
                self.lock.release()  # type: ignore[attr-defined]
        rewritten = "".join(pieces).strip().splitlines()[0].strip().strip('"') if "".join(pieces).strip() else ""
        if time.monotonic() - started > self.budget_s or not _plausible(rewritten, question):
            return self.fallback.rewrite(question, history)
        return rewritten


def _first_sentences(answer: str, limit: int = 300) -> str:
    text = strip_markers(" ".join(answer.split()))
    return text[:limit]


def _plausible(rewritten: str, question: str) -> bool:
    """A rewrite is a question-sized sentence, not an answer or a refusal."""
    words = len(rewritten.split())
    return 2 <= words <= max(40, 3 * len(question.split())) and NOT_IN_CORPUS not in rewritten
