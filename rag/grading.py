"""Grading: does a candidate answer actually answer the question? (a yes/no reading by the LLM)

The extractive fallback quotes the passages' sentences closest to the question. They are always
true to the corpus, but the closest sentence is not always an answer: "Who won the 2001 Nobel
Prize in Literature?" comes back as "Kofi Annan has accepted the 2001 Nobel Peace Prize". Neither
similarity nor word overlap tells the two apart (measured on the eval suites: unanswerable
questions score as high as answerable ones), but a reader does, and even a 1.5B model reads one
short question and two or three sentences in about 2 s. This is the "grader" of corrective RAG,
asked of the final quoted text rather than of whole passages.
"""

from __future__ import annotations

import re
import threading
from contextlib import nullcontext
from typing import Protocol

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from .citations import strip_markers
from .generation.base import Generator

GRADER_SYSTEM = "You check whether a text answers a question. Reply with one word: YES or NO."
GRADER_TEMPLATE = "Question: {question}\n\nText: {text}\n\nDoes the text give the answer to the question? Reply YES or NO."
_YES = re.compile(r"^\W*yes\b", re.IGNORECASE)


class AnswerGrader(Protocol):
    """Decides whether a text answers a question."""

    def answers(self, question: str, text: str) -> bool:
        """True when ``text`` gives the answer to ``question``."""
        ...


class ChatModelGrader:
    """Asks a chat model YES or NO; anything but a clear YES counts as no (the safe side is to decline)."""

    def __init__(self, model: BaseChatModel, lock: threading.Lock | None = None) -> None:
        self.model = model
        self.lock = lock   # the generator's: a llama.cpp context serves one call at a time

    def answers(self, question: str, text: str) -> bool:
        """Read the model's first word and stop it there."""
        messages = [SystemMessage(GRADER_SYSTEM),
                    HumanMessage(GRADER_TEMPLATE.format(question=question, text=strip_markers(text).strip()))]
        reply = ""
        with self.lock or nullcontext():
            for chunk in self.model.stream(messages):
                reply += chunk.content if isinstance(chunk.content, str) else ""
                if len(re.findall(r"\w", reply)) >= 3:   # "YES", or "NO" and the next word
                    break
        return bool(_YES.match(reply))


def make_grader(generator: Generator) -> AnswerGrader | None:
    """A grader over the generator's chat model, or None when it has none (the extractive backend)."""
    if generator.chat_model is None:
        return None
    return ChatModelGrader(generator.chat_model, lock=generator.lock)
