"""Conversations that last: stored on the server in SQLite, per login, with their cited answers.

A conversation belongs to its owner (the chat's login name; "" when the chat has no login) and
every read or write names the owner, so one login never reaches another's conversations. Each
turn keeps the question, the answer as ``Answer.to_json`` gives it (text, citations with quotes
and offsets) and the content hash (version) of every cited document when it was answered, so a
reopened answer can say which citations point at a document that has changed or gone since.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from .errors import InputError, StoreError
from .types import Answer, Citation

FILE_NAME = "conversations.sqlite3"
MAX_TITLE_CHARS = 120
_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL);
CREATE INDEX IF NOT EXISTS conversations_owner ON conversations (owner, updated);
CREATE TABLE IF NOT EXISTS turns (
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE, position INTEGER NOT NULL,
    question TEXT NOT NULL, answer TEXT NOT NULL, versions TEXT NOT NULL, created REAL NOT NULL,
    PRIMARY KEY (conversation_id, position));
"""


@dataclass(frozen=True)
class SavedTurn:
    """One question and its answer as saved, with the cited documents' versions at the time."""

    question: str
    answer: dict[str, Any]
    versions: Mapping[str, str] = field(default_factory=dict)   # doc_id -> content hash when answered
    created: float = 0.0

    def citations(self) -> list[Citation]:
        """The answer's citations as ``Citation`` records."""
        return [Citation(n=int(c["n"]), doc_id=str(c["doc_id"]), title=str(c.get("title", "")),
                         source=str(c.get("source", "")), quote=str(c["quote"]), start=int(c["start"]),
                         end=int(c["end"]), page=c.get("page")) for c in self.answer.get("citations", [])]

    def to_answer(self) -> Answer:
        """The saved answer as an ``Answer`` (for rendering it again)."""
        return Answer(question=self.question, text=str(self.answer.get("answer", "")),
                      abstained=bool(self.answer.get("abstained")), citations=self.citations())

    def stale(self, current: Mapping[str, str]) -> dict[int, str]:
        """Citation number -> "changed" or "gone", for citations whose document is no longer as it was."""
        found: dict[int, str] = {}
        for citation in self.citations():
            now = current.get(citation.doc_id)
            if now is None:
                found[citation.n] = "gone"
            elif self.versions.get(citation.doc_id) not in (None, now):
                found[citation.n] = "changed"
        return found


@dataclass(frozen=True)
class Conversation:
    """A conversation's record, and its turns when read in full."""

    id: str
    owner: str
    title: str
    created: float
    updated: float
    turns: tuple[SavedTurn, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The conversation as ``rag conversations export --format json`` writes it."""
        return {"id": self.id, "owner": self.owner, "title": self.title, "created": self.created,
                "updated": self.updated,
                "turns": [{"question": t.question, "answer": t.answer, "versions": dict(t.versions),
                           "created": t.created} for t in self.turns]}


def title_for(question: str) -> str:
    """A conversation's title: its first question, on one line, cut at a word."""
    flat = " ".join(question.split()) or "Untitled"
    return flat if len(flat) <= MAX_TITLE_CHARS else flat[:MAX_TITLE_CHARS].rsplit(" ", 1)[0] + "…"


class ConversationStore:
    """Conversations in one SQLite file; every method that reads or changes one takes its owner."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as error:
            raise StoreError(f"cannot open the conversations file {self.path} ({error}). Check that the data "
                             "folder is writable, or move the damaged file away to start a new one") from error

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> "ConversationStore":
        """The store of the configured data folder."""
        return cls(Path(data_dir) / FILE_NAME)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # One connection per call: the chat calls from many threads, and SQLite's own locking
        # makes writes from several processes (chat and CLI) safe.
        with self._lock:
            db = sqlite3.connect(self.path, timeout=10)
            try:
                db.execute("PRAGMA foreign_keys = ON")
                with db:
                    yield db
            except sqlite3.Error as error:
                raise StoreError(f"the conversations file {self.path} failed: {error}") from error
            finally:
                db.close()

    def create(self, owner: str, first_question: str) -> str:
        """A new, empty conversation titled by its first question; returns its id."""
        conversation_id = uuid.uuid4().hex[:16]
        now = time.time()
        with self._connect() as db:
            db.execute("INSERT INTO conversations VALUES (?, ?, ?, ?, ?)",
                       (conversation_id, owner, title_for(first_question), now, now))
        return conversation_id

    def add_turn(self, conversation_id: str, owner: str, answer: Answer, versions: Mapping[str, str],
                 settings: Mapping[str, Any] | None = None) -> None:
        """Append a question and its answer, with the cited documents' current versions (and the
        search settings it was given with, kept with the answer under "settings")."""
        cited = {c.doc_id for c in answer.citations}
        kept = {doc_id: version for doc_id, version in versions.items() if doc_id in cited}
        now = time.time()
        with self._connect() as db:
            self._owned(db, conversation_id, owner)
            (position,) = db.execute("SELECT COUNT(*) FROM turns WHERE conversation_id = ?",
                                     (conversation_id,)).fetchone()
            data = answer.to_json()
            data.pop("timings_ms", None)
            if settings:
                data["settings"] = dict(settings)
            db.execute("INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?)",
                       (conversation_id, position, answer.question, json.dumps(data, ensure_ascii=False),
                        json.dumps(kept), now))
            db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, conversation_id))

    def list_conversations(self, owner: str | None) -> list[Conversation]:
        """The owner's conversations, newest first (every owner's when ``owner`` is None: the CLI)."""
        query = "SELECT id, owner, title, created, updated FROM conversations"
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY updated DESC, id" if owner is None else
                              query + " WHERE owner = ? ORDER BY updated DESC, id",
                              () if owner is None else (owner,)).fetchall()
        return [Conversation(*row) for row in rows]

    def get(self, conversation_id: str, owner: str | None) -> Conversation:
        """One conversation with its turns; InputError when the owner has no such conversation
        (``owner`` None: any owner's, for the CLI)."""
        with self._connect() as db:
            row = self._owned(db, conversation_id, owner)
            turns = db.execute("SELECT question, answer, versions, created FROM turns WHERE conversation_id = ? "
                               "ORDER BY position", (conversation_id,)).fetchall()
        return Conversation(*row, turns=tuple(SavedTurn(q, json.loads(a), json.loads(v), c) for q, a, v, c in turns))

    def rename(self, conversation_id: str, owner: str, title: str) -> None:
        """Give a conversation a new title."""
        title = " ".join(str(title).split())[:MAX_TITLE_CHARS]
        if not title:
            raise InputError("the new title is empty: type a name for the conversation")
        with self._connect() as db:
            self._owned(db, conversation_id, owner)
            db.execute("UPDATE conversations SET title = ? WHERE id = ?", (title, conversation_id))

    def delete(self, conversation_id: str, owner: str) -> None:
        """Delete a conversation and its turns."""
        with self._connect() as db:
            self._owned(db, conversation_id, owner)
            db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    @staticmethod
    def _owned(db: sqlite3.Connection, conversation_id: str, owner: str | None) -> tuple[Any, ...]:
        row = db.execute("SELECT id, owner, title, created, updated FROM conversations WHERE id = ?",
                         (str(conversation_id),)).fetchone()
        # Another login's conversation reads as missing: its existence is not theirs to learn.
        if row is None or (owner is not None and row[1] != owner):
            raise InputError(f"there is no conversation '{conversation_id}'; `rag conversations list` shows them")
        return tuple(row)


# ----- export -------------------------------------------------------------------------------
STALE_NOTE = {"changed": "the document has changed since this answer", "gone": "the document has been removed since"}


def to_markdown(conversation: Conversation, current: Mapping[str, str] | None = None) -> str:
    """The conversation as Markdown: each question, its answer, and each citation's quote with its
    source link and character offsets (and a note when its document changed or went since)."""
    lines = [f"# {conversation.title}", ""]
    for turn in conversation.turns:
        lines += [f"## {turn.question}", "", str(turn.answer.get("answer", "")), ""]
        stale = turn.stale(current) if current is not None else {}
        for citation in turn.citations():
            where = f"characters {citation.start}–{citation.end} of `{citation.doc_id}`"
            if citation.page is not None:
                where += f", page {citation.page}"
            link = f"[{citation.title or citation.doc_id}]({citation.source})" if citation.source.startswith(
                ("http://", "https://")) else (citation.title or citation.doc_id) + (
                f" ({citation.source})" if citation.source else "")
            quote = " ".join(citation.quote.split())
            note = f" — *{STALE_NOTE[stale[citation.n]]}*" if citation.n in stale else ""
            lines += [f"[{citation.n}] {link}, {where}{note}", "", f"> {quote}", ""]
    return "\n".join(lines).rstrip() + "\n"
