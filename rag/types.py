"""Plain data passed between the pipeline stages.

Every record carries the provenance a citation needs: document id, title, source and the
character offsets into the document's text.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Mapping

# Metadata values must be scalars: Chroma stores nothing else.
Scalar = str | int | float | bool


def content_hash(*parts: object, length: int = 32) -> str:
    """Stable hex digest of the parts; ids built from it make re-ingestion idempotent."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(str(part).encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()[:length]


@dataclass(frozen=True)
class SourceDocument:
    """A loaded, cleaned document; every offset in the pipeline points into ``text``."""

    doc_id: str
    title: str
    source: str
    text: str
    metadata: Mapping[str, Scalar] = field(default_factory=dict)
    # Start offset of each page in ``text`` (page n starts at page_starts[n - 1]); empty when
    # the format has no pages.
    page_starts: tuple[int, ...] = ()

    @property
    def content_hash(self) -> str:
        """Hash of everything that, when changed, must change the stored chunks."""
        return content_hash(self.doc_id, self.title, self.source, self.text,
                            json.dumps(dict(self.metadata), sort_keys=True, default=str),
                            self.page_starts)

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding ``offset``, or None for formats without pages."""
        if not self.page_starts:
            return None
        page = 1
        for number, start in enumerate(self.page_starts, start=1):
            if start <= offset:
                page = number
            else:
                break
        return page


@dataclass(frozen=True)
class Chunk:
    """A span of a document, as stored and retrieved."""

    id: str
    doc_id: str
    title: str
    source: str
    text: str
    start: int
    end: int
    index: int
    doc_version: str
    page: int | None = None
    metadata: Mapping[str, Scalar] = field(default_factory=dict)
    # What the embedding depends on (document id, title, text, ordinal), shared by the chunks of
    # two versions that hold the same passage, so a new version reuses the old one's vector.
    vector_key: str = ""

    def to_metadata(self) -> dict[str, Scalar]:
        """The chunk's provenance as a flat, Chroma-storable mapping."""
        meta: dict[str, Scalar] = {k: v for k, v in self.metadata.items() if v is not None}
        meta.update(doc_id=self.doc_id, title=self.title, source=self.source,
                    start=self.start, end=self.end, index=self.index,
                    doc_version=self.doc_version)
        if self.vector_key:
            meta["vector_key"] = self.vector_key
        if self.page is not None:
            meta["page"] = self.page
        return meta

    @classmethod
    def from_record(cls, chunk_id: str, text: str, meta: Mapping[str, Any]) -> "Chunk":
        """Rebuild a chunk from what the store returns."""
        known = {"doc_id", "title", "source", "start", "end", "index", "doc_version", "page", "vector_key"}
        return cls(id=chunk_id, text=text, doc_id=str(meta["doc_id"]),
                   title=str(meta.get("title", "")), source=str(meta.get("source", "")),
                   start=int(meta["start"]), end=int(meta["end"]),
                   index=int(meta.get("index", 0)), doc_version=str(meta.get("doc_version", "")),
                   page=int(meta["page"]) if meta.get("page") is not None else None,
                   metadata={k: v for k, v in meta.items() if k not in known},
                   # A record written before chunks had versioned ids: its id is its vector key.
                   vector_key=str(meta.get("vector_key") or chunk_id))


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with how it was found."""

    chunk: Chunk
    score: float          # the ranking score of the retriever that produced the list
    relevance: float      # cosine similarity of question and chunk, comparable across retrievers
    ranks: Mapping[str, int] = field(default_factory=dict)  # 1-based rank per retriever

    def to_json(self, rank: int) -> dict[str, Any]:
        """The hit as in ``search --json``, at 1-based ``rank``."""
        c = self.chunk
        data: dict[str, Any] = {"rank": rank, "score": round(self.score, 5), "relevance": round(self.relevance, 4),
                                "ranks": dict(self.ranks), "chunk_id": c.id, "doc_id": c.doc_id, "title": c.title,
                                "source": c.source, "start": c.start, "end": c.end, "text": c.text}
        if c.page is not None:
            data["page"] = c.page
        return data


@dataclass(frozen=True)
class Citation:
    """A verified citation: ``quote == document.text[start:end]``."""

    n: int
    doc_id: str
    title: str
    source: str
    quote: str
    start: int
    end: int
    page: int | None = None
    chunk_id: str = ""

    def to_json(self) -> dict[str, Any]:
        """The citation as in ``ask --json``."""
        data: dict[str, Any] = {"n": self.n, "doc_id": self.doc_id, "title": self.title,
                                "source": self.source, "quote": self.quote,
                                "start": self.start, "end": self.end}
        if self.page is not None:
            data["page"] = self.page
        return data


@dataclass(frozen=True)
class AnswerPart:
    """A part of the question and whether the answer covers it, with the citations that do."""

    text: str
    kind: str
    answered: bool
    citations: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The part as in ``ask --json``."""
        return {"text": self.text, "kind": self.kind, "answered": self.answered, "citations": list(self.citations)}


@dataclass
class Answer:
    """The outcome of one question: text with [n] markers and the citations they point to."""

    question: str
    text: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    standalone_question: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)
    trace: dict[str, Any] = field(default_factory=dict)
    # The parts of a question of several parts, each answered or named as not in the documents.
    parts: list[AnswerPart] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The answer as ``ask --json`` prints it."""
        return {"question": self.question, "answer": self.text, "abstained": self.abstained,
                "citations": [c.to_json() for c in self.citations],
                "standalone_question": self.standalone_question or self.question,
                # why it was declined, and which fallback answered when the main backend's answer was declined
                "declined_by": self.trace.get("declined_by") if self.abstained else None,
                "answered_by_fallback": self.trace.get("answered_by"),
                "parts": [p.to_json() for p in self.parts],
                "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()}}
