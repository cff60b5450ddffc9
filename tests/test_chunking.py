from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from rag.chunking import chunk_document, chunk_spans, split_sentences
from rag.types import SourceDocument

from .conftest import seed_text


def sentences(text: str) -> list[str]:
    return [text[s.start:s.end] for s in split_sentences(text)]


@pytest.mark.parametrize("text, expected", [
    ("One fact. Another fact.", ["One fact.", "Another fact."]),
    ("Mr. Smith met Dr. Jones. They talked.", ["Mr. Smith met Dr. Jones.", "They talked."]),
    ("The U.S. imposed sanctions. Cuba objected.", ["The U.S. imposed sanctions.", "Cuba objected."]),
    ("Support during a\n\nmeeting with the ambassador. Next.", ["Support during a\n\nmeeting with the ambassador.", "Next."]),
    ("Heading\n\nBody text here.", ["Heading", "Body text here."]),
    ('He said "stop." Then left.', ['He said "stop."', "Then left."]),
    ("J. R. Smith arrived. Done!", ["J. R. Smith arrived.", "Done!"]),
    ("Costs rose 3.5 percent. Why? Nobody knows.", ["Costs rose 3.5 percent.", "Why?", "Nobody knows."]),
])
def test_sentences(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_seed_chunks_have_exact_offsets_and_provenance() -> None:
    text = seed_text()
    document = SourceDocument("doc", "Title", "https://example.org/a", text)
    chunks = chunk_document(document, 800, 150)
    assert len(chunks) >= 4
    for chunk in chunks:
        assert text[chunk.start:chunk.end] == chunk.text
        assert len(chunk.text) <= 800
        assert (chunk.doc_id, chunk.title, chunk.source) == ("doc", "Title", "https://example.org/a")
    # Every sentence of the document is in some chunk.
    for sentence in split_sentences(text):
        assert any(c.start <= sentence.start and sentence.end <= c.end for c in chunks)
    # Neighbours overlap by whole sentences, within the limit.
    for a, b in zip(chunks, chunks[1:]):
        assert b.start > a.start
        assert a.end - b.start <= 150


def test_ids_are_content_hashes() -> None:
    text = seed_text()
    first = chunk_document(SourceDocument("doc", "T", "s", text), 800, 150)
    again = chunk_document(SourceDocument("doc", "T", "s", text), 800, 150)
    changed = chunk_document(SourceDocument("doc", "T", "s", text.replace("Putin", "President Putin", 1)), 800, 150)
    assert [c.id for c in first] == [c.id for c in again]
    # A new version has ids of its own, so writing it never rewrites a record of the old one.
    assert not set(c.id for c in first) & set(c.id for c in changed)
    # Chunks after the edit moved but did not change: same vector key (the embedding is reused), new offsets.
    kept = {c.vector_key: c for c in first}
    moved = [c for c in changed if c.vector_key in kept]
    assert len(moved) >= 2 and all(c.start == kept[c.vector_key].start + len("President ") for c in moved)


def test_long_sentence_is_cut_at_whitespace() -> None:
    text = " ".join(["word"] * 400) + "."
    spans = chunk_spans(text, 300, 50)
    assert all(s.end - s.start <= 300 for s in spans)
    assert "".join(text[s.start:s.end] for s in spans).replace(" ", "") == text.replace(" ", "")


def test_chunks_never_cross_pages() -> None:
    text = "Page one says this. It ends here.\nPage two says that. It ends too."
    page_two = text.index("Page two")
    document = SourceDocument("d", "T", "s", text, page_starts=(0, page_two))
    chunks = chunk_document(document, 800, 0)
    assert [(c.page, c.text) for c in chunks] == [(1, text[:page_two].strip()), (2, text[page_two:])]


@hsettings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=3000),
       st.integers(min_value=100, max_value=900), st.integers(min_value=0, max_value=99))
def test_offsets_hold_for_any_text(text: str, size: int, overlap: int) -> None:
    for span in chunk_spans(text, size, overlap):
        piece = text[span.start:span.end]
        assert 0 <= span.start < span.end <= len(text)
        assert piece.strip() == piece and piece
        assert len(piece) <= size
