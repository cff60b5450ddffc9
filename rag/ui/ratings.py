"""Thumbs up or down on an answer in the chat, and for a thumbs-down its reason: stored by
``rag.feedback`` with the question, the saved answer and its search settings."""

from __future__ import annotations

from typing import Any, Sequence

from ..feedback import FeedbackStore
from . import render
from .chat import message_text
from .history import ChatHistory, owner_of


class Ratings:
    """Turns the chat's like/dislike events into stored feedback."""

    def __init__(self, store: FeedbackStore, history: ChatHistory) -> None:
        self.store = store
        self.history = history

    def rate(self, index: Any, liked: bool | None, messages: Sequence[dict[str, Any]], request: Any) -> int | None:
        """Store a rating of the assistant message at ``index``; returns its id (None for an un-rating
        or a message that is no answer)."""
        position = index[0] if isinstance(index, (list, tuple)) else index
        if liked is None or not isinstance(position, int) or not 0 < position < len(messages):
            return None
        before, rated = messages[position - 1], messages[position]
        if not isinstance(before, dict) or before.get("role") != "user":
            return None
        question = message_text(before.get("content"))
        turn = self.history.saved_turn(question, request)
        if turn is not None:
            answer = dict(turn.answer)
            settings = answer.pop("settings", {})
        else:  # not saved (an error, or saving failed): keep what the page shows
            shown = message_text(rated.get("content") if isinstance(rated, dict) else "")
            answer = {"answer": render.answer_text(shown), "citations": [], "abstained": "rag-declined" in shown}
            settings = {}
        return self.store.add(owner_of(request), "up" if liked else "down", question, answer, settings)

    def explain(self, feedback_id: int, reason: str, expected: str, request: Any) -> None:
        """Give a thumbs-down its reason and the expected answer."""
        self.store.explain(feedback_id, owner_of(request), reason, expected)
