"""Chunking: sentence-aware spans of a document, each with exact character offsets.

Chunks start and end on sentence boundaries, so a retrieved passage never begins or ends
mid-thought, and ``document.text[chunk.start:chunk.end] == chunk.text`` always holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .types import Chunk, SourceDocument, content_hash

# Words whose trailing period does not end a sentence.
_ABBREVIATIONS = frozenset("""
mr mrs ms dr prof sr jr st mt ft vs etc e.g i.e cf al gen gov sen rep lt col capt sgt cmdr adm
maj pres no nos vol fig inc ltd co corp dept univ approx est jan feb mar apr jun jul aug sep sept
oct nov dec u.s u.k u.n a.m p.m
""".split())

# A candidate boundary: terminal punctuation (plus closing quotes/brackets) then whitespace.
_BOUNDARY = re.compile(r"""[.!?…]+["'”’)\]]*(?=\s)|\n[ \t]*\n""")
_WORD_BEFORE = re.compile(r"([\w.]+)[.]$")


@dataclass(frozen=True)
class Span:
    """A half-open character range [start, end) of a text."""

    start: int
    end: int


def split_sentences(text: str) -> list[Span]:
    """Sentence spans of ``text``, whitespace excluded; paragraph breaks always end a sentence
    unless the next paragraph continues in lower case (a line break inside a sentence)."""
    spans: list[Span] = []
    start = _skip_space(text, 0)
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        if end <= start:
            continue
        nxt = _skip_space(text, end)
        if nxt >= len(text):
            break
        following = text[nxt]
        if match.group().startswith("\n"):
            if following.islower():
                continue  # "during a\n\nmeeting": the sentence goes on
            end = match.start()
        else:
            if following.islower() or _is_abbreviation(text, match.start(), match.end()):
                continue
        if text[start:end].strip():
            spans.append(Span(start, _trim_end(text, start, end)))
        start = nxt
    if start < len(text) and text[start:].strip():
        spans.append(Span(start, _trim_end(text, start, len(text))))
    return spans


def _skip_space(text: str, index: int) -> int:
    while index < len(text) and text[index].isspace():
        index += 1
    return index


def _trim_end(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1].isspace():
        end -= 1
    return end


def _is_abbreviation(text: str, punct_start: int, punct_end: int) -> bool:
    if text[punct_start:punct_end] != ".":
        return False
    match = _WORD_BEFORE.search(text[max(0, punct_start - 12):punct_start + 1])
    if not match:
        return False
    word = match.group(1).lower()
    # Single letters are initials ("J. Smith"); "U.S." and friends are in the list.
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def _split_long(text: str, span: Span, limit: int) -> list[Span]:
    """Cut a sentence longer than ``limit`` at whitespace (at a hard limit if there is none)."""
    pieces: list[Span] = []
    start = span.start
    while span.end - start > limit:
        cut = text.rfind(" ", start + limit // 2, start + limit)
        cut = cut if cut > start else start + limit
        pieces.append(Span(start, _trim_end(text, start, cut)))
        start = _skip_space(text, cut)
    if start < span.end:
        pieces.append(Span(start, span.end))
    return pieces


def chunk_spans(text: str, chunk_size: int, chunk_overlap: int) -> list[Span]:
    """Pack whole sentences into spans of at most ``chunk_size`` characters; consecutive
    spans share trailing sentences worth at most ``chunk_overlap`` characters."""
    sentences: list[Span] = []
    for sentence in split_sentences(text):
        sentences.extend(_split_long(text, sentence, chunk_size))
    spans: list[Span] = []
    first = 0
    while first < len(sentences):
        last = first
        while last + 1 < len(sentences) and sentences[last + 1].end - sentences[first].start <= chunk_size:
            last += 1
        spans.append(Span(sentences[first].start, sentences[last].end))
        if last + 1 >= len(sentences):
            break
        # Step back over trailing sentences that fit in the overlap, but always move forward.
        next_first = last + 1
        while next_first - 1 > first and sentences[last].end - sentences[next_first - 1].start <= chunk_overlap:
            next_first -= 1
        first = next_first
    return spans


def date_number(value: str) -> int | None:
    """An ISO date (or datetime) as the number YYYYMMDD, or None."""
    match = re.match(r"^(\d{4})-(\d{2})-(\d{2})", value.strip())
    return int("".join(match.groups())) if match else None


def chunk_document(document: SourceDocument, chunk_size: int, chunk_overlap: int) -> list[Chunk]:
    """Split a document into chunks that carry its provenance and their own offsets."""
    version = document.content_hash
    keep = {k: v for k, v in document.metadata.items() if k in ("publisher", "author", "date", "format", "path", "parent_id")}
    if (day := date_number(str(document.metadata.get("date", "")))) is not None:
        keep["date_num"] = day  # Chroma compares numbers only: YYYYMMDD makes date ranges filterable
    chunks = []
    repeats: dict[str, int] = {}
    for index, span in enumerate(_document_spans(document, chunk_size, chunk_overlap)):
        text = document.text[span.start:span.end]
        # The vector key hashes what is embedded (title and text), not the offsets: an edit
        # earlier in the document moves this chunk without changing it, and its embedding is
        # reused. The id adds the version, so a new version never rewrites a record the visible
        # one reads: a document is replaced whole or not at all. The ordinal separates repeats.
        ordinal = repeats[text] = repeats.get(text, -1) + 1
        key = content_hash(document.doc_id, document.title, text, ordinal)
        chunks.append(Chunk(
            id=content_hash(key, version), vector_key=key,
            doc_id=document.doc_id, title=document.title, source=document.source, text=text,
            start=span.start, end=span.end, index=index, doc_version=version,
            page=document.page_at(span.start), metadata=keep))
    return chunks


def _document_spans(document: SourceDocument, chunk_size: int, chunk_overlap: int) -> list[Span]:
    # Chunks never cross a page break, so a citation's page is its chunk's page.
    bounds = list(document.page_starts) + [len(document.text)] if document.page_starts else [0, len(document.text)]
    spans: list[Span] = []
    for lo, hi in zip(bounds, bounds[1:]):
        page_text = document.text[lo:hi]
        spans.extend(Span(lo + s.start, lo + s.end) for s in chunk_spans(page_text, chunk_size, chunk_overlap))
    return spans
