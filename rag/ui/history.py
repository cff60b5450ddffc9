"""The chat's saved conversations: each answer is saved as it is given, per login, and a saved
conversation is reopened with its cited answers, renamed, deleted or downloaded as Markdown.

The conversation a browser tab is in is kept by its Gradio session; "New conversation" ends it.
Who is asking is the login name Gradio gives (``gr.Request.username``; "" without a login), and
every read and write of ``ConversationStore`` names it, so one login never sees another's.
"""

from __future__ import annotations

import logging
import re
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from ..assistant import Assistant
from ..conversations import STALE_NOTE, ConversationStore, SavedTurn, to_markdown
from ..errors import InputError
from ..types import Answer
from . import render

log = logging.getLogger(__name__)

MAX_SESSIONS = 10_000  # sessions remembered at once; the oldest is forgotten (its tab starts a new conversation)


def owner_of(request: Any) -> str:
    """The login name of a request ("" when the chat has no login)."""
    return str(getattr(request, "username", None) or "") if request is not None else ""


def _session(request: Any) -> str:
    return str(getattr(request, "session_hash", None) or "") if request is not None else ""


class ChatHistory:
    """The conversations of one chat server: which one each session is in, and the store."""

    def __init__(self, assistant: Assistant, store: ConversationStore) -> None:
        self.assistant = assistant
        self.store = store
        self._current: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()
        self._downloads = Path(tempfile.mkdtemp(prefix="rag-conversations-"))

    def current(self, request: Any) -> str | None:
        """The id of the conversation the request's session is in, if any."""
        with self._lock:
            return self._current.get(_session(request))

    def _enter(self, request: Any, conversation_id: str | None) -> None:
        session = _session(request)
        if not session:
            return
        with self._lock:
            self._current.pop(session, None)
            if conversation_id is not None:
                self._current[session] = conversation_id
                while len(self._current) > MAX_SESSIONS:
                    self._current.popitem(last=False)

    def record(self, answer: Answer, request: Any, continuing: bool = True,
               settings: dict[str, Any] | None = None) -> None:
        """Save an answer in the session's conversation, or start one with this question (also
        when not ``continuing``: a question asked with no history before it begins a conversation)."""
        owner = owner_of(request)
        conversation_id = self.current(request) if continuing else None
        if conversation_id is None or conversation_id not in {c.id for c in self.store.list_conversations(owner)}:
            conversation_id = self.store.create(owner, answer.question)
            self._enter(request, conversation_id)
        self.store.add_turn(conversation_id, owner, answer, self.assistant.store.visible_versions(), settings)

    def saved_turn(self, question: str, request: Any) -> SavedTurn | None:
        """The last saved turn of the session's conversation that asked ``question``, if any."""
        conversation_id = self.current(request)
        if conversation_id is None:
            return None
        try:
            turns = self.store.get(conversation_id, owner_of(request)).turns
        except InputError:
            return None
        return next((t for t in reversed(turns) if t.question == question), None)

    def new(self, request: Any) -> None:
        """The session's next question starts a new conversation."""
        self._enter(request, None)

    def choices(self, request: Any) -> list[tuple[str, str]]:
        """(title, id) of the login's conversations, newest first."""
        return [(c.title, c.id) for c in self.store.list_conversations(owner_of(request))]

    def open(self, conversation_id: str, request: Any) -> list[dict[str, str]]:
        """The chat messages of a saved conversation, which the session is then in."""
        conversation = self.store.get(conversation_id, owner_of(request))
        self._enter(request, conversation.id)
        versions = self.assistant.store.visible_versions()
        messages: list[dict[str, str]] = []
        for turn in conversation.turns:
            answer = turn.to_answer()
            stale = {n: STALE_NOTE[why] for n, why in turn.stale(versions).items()}
            documents = {c.doc_id: self._text(c.doc_id) for c in answer.citations if c.n not in stale}
            messages += [{"role": "user", "content": turn.question},
                         {"role": "assistant", "content": render.render_answer(answer, documents, "saved", stale)}]
        return messages

    def rename(self, conversation_id: str, title: str, request: Any) -> None:
        """Rename one of the login's conversations."""
        self.store.rename(conversation_id, owner_of(request), title)

    def delete(self, conversation_id: str, request: Any) -> None:
        """Delete one of the login's conversations (the session leaves it)."""
        self.store.delete(conversation_id, owner_of(request))
        if self.current(request) == conversation_id:
            self._enter(request, None)

    def markdown_file(self, conversation_id: str, request: Any) -> Path:
        """The conversation as a Markdown file to download."""
        conversation = self.store.get(conversation_id, owner_of(request))
        name = re.sub(r"[^\w-]+", "-", conversation.title.lower()).strip("-")[:60] or "conversation"
        folder = self._downloads / conversation.id
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.md"
        path.write_text(to_markdown(conversation, self.assistant.store.visible_versions()), encoding="utf-8")
        return path

    def _text(self, doc_id: str) -> str | None:
        stored = self.assistant.store.get_document(doc_id)
        return stored.text if stored else None
