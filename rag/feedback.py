"""Feedback that becomes test cases: thumbs up or down on an answer, stored in SQLite, exported
as the ``feedback`` evaluation suite (evals/SCHEMA.md) so ``rag eval --suite feedback`` replays it.

A rating keeps the question, the answer with its citations, the search settings it was given
with, and for a thumbs-down a reason and optionally the answer that was expected. A case is
built only from what can be checked against the corpus folders:

- thumbs up: the names and numbers of the answer that its quotes hold are the facts, the quotes
  the evidence (the answer must be given again, from the same passages);
- "should have declined": an unanswerable case;
- "should have answered", "missing part", "wrong citation" with an expected answer: the names and
  numbers of the expected answer are the facts, and the corpus sentence holding most of them the
  evidence;
anything else (no expected answer, a document that is not in the folders) is skipped with why.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from .chunking import split_sentences
from .errors import InputError, StoreError
from .evaluation.suites import ROOT, load_corpus, matches
from .text_facts import required_terms

FILE_NAME = "feedback.sqlite3"
REASONS = {"wrong-citation": "wrong citation", "missing-part": "missing part",
           "should-have-declined": "should have declined", "should-have-answered": "should have answered"}
MAX_FACTS = 3
_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT, owner TEXT NOT NULL, rating TEXT NOT NULL, reason TEXT NOT NULL,
    expected TEXT NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL, settings TEXT NOT NULL, created REAL NOT NULL);
"""


@dataclass(frozen=True)
class Feedback:
    """One rating of one answer."""

    id: int
    owner: str
    rating: str                       # "up" | "down"
    reason: str                       # one of REASONS for "down", "" otherwise
    expected: str                     # the answer the user expected ("" when not given)
    question: str
    answer: Mapping[str, Any]         # as ``Answer.to_json`` (text under "answer", "citations", "abstained")
    settings: Mapping[str, Any] = field(default_factory=dict)
    created: float = 0.0


class FeedbackStore:
    """Ratings in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as error:
            raise StoreError(f"cannot open the feedback file {self.path} ({error}). Check that the data folder "
                             "is writable, or move the damaged file away to start a new one") from error

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> "FeedbackStore":
        """The store of the configured data folder."""
        return cls(Path(data_dir) / FILE_NAME)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            db = sqlite3.connect(self.path, timeout=10)
            try:
                with db:
                    yield db
            except sqlite3.Error as error:
                raise StoreError(f"the feedback file {self.path} failed: {error}") from error
            finally:
                db.close()

    def add(self, owner: str, rating: str, question: str, answer: Mapping[str, Any],
            settings: Mapping[str, Any] | None = None, reason: str = "", expected: str = "") -> int:
        """Store a rating; returns its id. InputError for an unknown rating or reason."""
        if rating not in ("up", "down"):
            raise InputError(f"a rating is 'up' or 'down', not {rating!r}")
        if reason and (rating != "down" or reason not in REASONS):
            raise InputError(f"the reason must be one of {', '.join(REASONS)} (with a thumbs down), not {reason!r}")
        with self._connect() as db:
            cursor = db.execute("INSERT INTO feedback (owner, rating, reason, expected, question, answer, settings, "
                                "created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                (owner, rating, reason, " ".join(expected.split()), question,
                                 json.dumps(dict(answer), ensure_ascii=False),
                                 json.dumps(dict(settings or {}), ensure_ascii=False), time.time()))
            return int(cursor.lastrowid or 0)

    def explain(self, feedback_id: int, owner: str, reason: str, expected: str = "") -> None:
        """Add the reason (and expected answer) to a thumbs-down of ``owner``."""
        if reason not in REASONS:
            raise InputError(f"the reason must be one of {', '.join(REASONS)}, not {reason!r}")
        with self._connect() as db:
            done = db.execute("UPDATE feedback SET reason = ?, expected = ? WHERE id = ? AND owner = ? AND rating = "
                              "'down'", (reason, " ".join(expected.split()), feedback_id, owner)).rowcount
        if not done:
            raise InputError("there is no thumbs-down of yours to explain; rate the answer first")

    def all(self) -> list[Feedback]:
        """Every rating, oldest first."""
        with self._connect() as db:
            rows = db.execute("SELECT id, owner, rating, reason, expected, question, answer, settings, created "
                              "FROM feedback ORDER BY id").fetchall()
        return [Feedback(i, o, r, why, e, q, json.loads(a), json.loads(s), c) for i, o, r, why, e, q, a, s, c in rows]


# ----- as evaluation cases ------------------------------------------------------------------
@dataclass(frozen=True)
class Skipped:
    """A rating that could not become a case, and why."""

    feedback_id: int
    why: str


def corpus_folder(folder: Path) -> str:
    """A corpus folder as a suite names it: relative to the repository when inside it."""
    folder = Path(folder).resolve()
    try:
        return folder.relative_to(ROOT).as_posix()
    except ValueError:
        return str(folder)


def to_cases(ratings: Sequence[Feedback], folders: Sequence[str]) -> tuple[list[dict[str, Any]], list[Skipped]]:
    """The ratings as suite cases over ``folders`` (evals/SCHEMA.md), and the ones skipped."""
    problems: list[str] = []
    docs = load_corpus(tuple(folders), problems)
    if problems:
        raise InputError(f"the corpus folders cannot be read for the feedback suite: {'; '.join(problems)}")
    cases: list[dict[str, Any]] = []
    skipped: list[Skipped] = []
    for rating in ratings:
        case = _case(rating, docs)
        if isinstance(case, str):
            skipped.append(Skipped(rating.id, case))
            continue
        case.update(id=f"feedback-{rating.id}", corpus=list(folders), question=rating.question)
        cases.append(case)
    return cases, skipped


def _case(rating: Feedback, docs: Mapping[str, str]) -> dict[str, Any] | str:
    notes = f"feedback {rating.id}: thumbs {rating.rating}" + (f", {REASONS[rating.reason]}" if rating.reason else "")
    if rating.rating == "down" and rating.reason == "should-have-declined":
        return {"answerable": False, "category": "unanswerable", "facts": [], "doc_ids": [], "evidence": [],
                "notes": notes}
    if rating.rating == "up":
        if rating.answer.get("abstained"):
            # A decline the user approved: the question stays declined.
            return {"answerable": False, "category": "unanswerable", "facts": [], "doc_ids": [], "evidence": [],
                    "notes": notes}
        evidence = []
        for citation in rating.answer.get("citations", []):
            body = docs.get(str(citation.get("doc_id")))
            if body is None:
                return f"document {citation.get('doc_id')!r} is not in the corpus folders"
            line = max(str(citation.get("quote", "")).splitlines() or [""], key=len).strip()
            if line and line in body:
                evidence.append({"doc_id": str(citation["doc_id"]), "text": line})
        return _answerable(str(rating.answer.get("answer", "")), evidence, notes) or \
            "the answer names no name or number that its quotes hold"
    if not rating.expected:
        return "a thumbs down without the expected answer has nothing to check against"
    evidence = _evidence_for(rating.expected, docs)
    return _answerable(rating.expected, evidence, notes + f"; expected: {rating.expected}") or \
        "no sentence of the corpus holds a name or number of the expected answer"


def _answerable(answer: str, evidence: list[dict[str, str]], notes: str) -> dict[str, Any] | None:
    """A case whose facts are the answer's names and numbers that the evidence holds (None if none)."""
    support = "\n".join(e["text"] for e in evidence)
    facts = [[term] for term in key_terms(answer) if support and matches(term, support)][:MAX_FACTS]
    if not facts:
        return None
    used = [e for e in evidence if any(matches(f[0], e["text"]) for f in facts)]
    return {"answerable": True, "category": "single-fact", "facts": facts,
            "doc_ids": list(dict.fromkeys(e["doc_id"] for e in used)), "evidence": used, "notes": notes}


def key_terms(answer: str) -> list[str]:
    """The numbers and names an answer must give again: of a run of names only the last ("Putin"
    of "President Vladimir Putin"), and no number that is part of a name ("124" of "An-124")."""
    numbers, names = required_terms(answer)
    kept: list[str] = []
    for name in names:
        if kept and f"{kept[-1]} {name}" in answer:
            kept[-1] = name
        else:
            kept.append(name)
    numbers = [n for n in numbers if not any(n in name for name in names)]
    return list(dict.fromkeys(numbers + kept))


def _evidence_for(expected: str, docs: Mapping[str, str]) -> list[dict[str, str]]:
    """The corpus sentence (on one line) holding most of the expected answer's names and numbers."""
    terms = key_terms(expected)
    best: tuple[int, str, str] = (0, "", "")
    for doc_id, body in docs.items():
        for span in split_sentences(body):
            sentence = max(body[span.start:span.end].splitlines() or [""], key=len).strip()
            held = sum(matches(term, sentence) for term in terms)
            if held > best[0]:
                best = (held, doc_id, sentence)
    return [{"doc_id": best[1], "text": best[2]}] if best[0] else []


def write_suite(cases: Sequence[dict[str, Any]], path: Path) -> None:
    """Write the cases as a suite file (one JSON object a line)."""
    if not cases:
        raise InputError("no feedback could become a case yet: rate some answers in the chat first")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases), encoding="utf-8")
