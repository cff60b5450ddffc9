"""A fuzz pass (hypothesis) over the loaders, the chunker, the citation parser and verifier, and the
question path: whatever comes in, the result is documents, chunks, citations or an answer that
keep their promises, or one of the project's errors with a message; never another exception.

Example counts are kept small enough for CI (the file runs in under two minutes on 2 cores);
``FUZZ_SCALE=20 pytest tests/test_fuzz.py`` runs twenty times as many.
"""

from __future__ import annotations

import io
import os
import shutil
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from rag.assistant import MAX_QUESTION_CHARS, Assistant, clean_question
from rag.chunking import chunk_document, chunk_spans, split_sentences
from rag.citations import parse_markers, split_answer
from rag.errors import InputError, LoadError
from rag.generation.base import number_passages
from rag.loading import LOADERS, load_file
from rag.types import Answer, SourceDocument
from rag.verification import Verifier

from . import documents as make
from .conftest import make_settings, seed_text

FUZZ_SCALE = float(os.environ.get("FUZZ_SCALE", "1"))
# No deadline: a machine shared with other work is slow now and then; the counts bound the time.
FUZZ = settings(deadline=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def examples(count: int) -> settings:
    """``count`` examples (times FUZZ_SCALE) on top of the file's settings."""
    return settings(FUZZ, max_examples=max(1, int(count * FUZZ_SCALE)))


# ----- loaders: random and damaged files under every supported suffix -------------------------
def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 12), "white").save(buffer, format="PNG")
    return buffer.getvalue()


def _seeds() -> dict[str, bytes]:
    """One valid small file per format, for the fuzzer to damage."""
    text = "Harbour notes\n\nThe ferry left at 7:45. It carried 240 passengers.\n".encode()
    front = (b"---\ntitle: Harbour notes\ndate: 2024-03-05\nsource: https://example.org/x\n---\n"
             b"# Notes\n\nThe ferry left.")
    return {".txt": text, ".text": text, ".md": front, ".markdown": front,
            ".html": make.HTML_ARTICLE.encode(), ".htm": make.HTML_ARTICLE.encode(),
            ".pdf": make.text_pdf_bytes([["The ferry left at 7:45.", "It carried 240 passengers."]]),
            ".docx": make.docx_bytes(), ".xlsx": make.xlsx_bytes(), ".csv": make.csv_text().encode(),
            ".eml": make.eml_bytes(attachment_name="notes.txt", attachment=text),
            ".png": _png(), ".jpg": _png(), ".jpeg": _png(), ".tif": _png(), ".tiff": _png()}


SEEDS = _seeds()
EXAMPLES = {".png": 12, ".jpg": 8, ".jpeg": 8, ".tif": 8, ".tiff": 8}  # images: each may run OCR


@st.composite
def damaged(draw: st.DrawFn, seed: bytes) -> bytes:
    """``seed`` with a few bytes changed, a piece cut out or inserted, or cut short."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(0, 6))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        start = draw(st.integers(0, len(data)))
        data[start:start + draw(st.integers(0, 64))] = draw(st.binary(max_size=64))
    if draw(st.booleans()):
        data = data[:draw(st.integers(0, len(data)))]
    return bytes(data)


def file_bytes(suffix: str) -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=2048), damaged(SEEDS[suffix]), st.just(SEEDS[suffix]))


@pytest.mark.parametrize("suffix", sorted(LOADERS))
def test_any_bytes_load_as_documents_or_a_load_error(suffix: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    path = tmp_path_factory.mktemp("fuzz") / f"fuzzed{suffix}"

    @examples(EXAMPLES.get(suffix, 30))
    @given(data=file_bytes(suffix))
    def check(data: bytes) -> None:
        path.write_bytes(data)
        try:
            loaded = load_file(path)
        except LoadError as error:
            assert error.path == str(path) and error.reason.strip()
            return
        assert loaded, "a file loads as at least one document or fails"
        for document in loaded:
            assert isinstance(document, SourceDocument) and document.doc_id and document.text.strip()
            assert list(document.page_starts) == sorted(set(document.page_starts))
            assert all(0 <= start <= len(document.text) for start in document.page_starts)

    example(data=SEEDS[suffix])(check)()  # the undamaged file too


# ----- chunker: offsets always point at the chunk's text ---------------------------------------
WORDS = st.sampled_from(["The", "ferry", "left", "at", "7:45.", "Dr.", "Smith", "U.S.", "e.g.", "said:", "“Yes!”",
                         "(see", "p.", "4).", "…", "?", "!", "\n", "\n\n", "\t", "  ", "Ωμέγα", "кот.", "猫。",
                         "🚀", "a" * 700, "x" * 90])
TEXTS = st.one_of(st.text(max_size=3000), st.lists(WORDS, max_size=400).map(" ".join))


@given(text=TEXTS, size=st.integers(100, 1200), overlap_share=st.floats(0, 0.9))
@examples(150)
def test_chunks_are_exact_slices_that_cover_every_word(text: str, size: int, overlap_share: float) -> None:
    overlap = int(size * overlap_share)
    spans = chunk_spans(text, size, overlap)
    for span in spans:
        assert 0 <= span.start < span.end <= len(text)
        assert span.end - span.start <= size
        piece = text[span.start:span.end]
        assert not piece[0].isspace() and not piece[-1].isspace()
    assert [s.start for s in spans] == sorted({s.start for s in spans}), "chunks move forward"
    covered = bytearray(len(text))
    for span in spans:
        covered[span.start:span.end] = b"\x01" * (span.end - span.start)
    missed = [i for i, ch in enumerate(text) if not ch.isspace() and not covered[i]]
    assert not missed, f"characters in no chunk: {[text[i] for i in missed[:10]]}"
    for sentence in split_sentences(text):
        assert 0 <= sentence.start < sentence.end <= len(text)


@given(pages=st.lists(TEXTS, min_size=1, max_size=4), size=st.integers(100, 800))
@examples(60)
def test_chunks_of_a_paged_document_stay_on_their_page(pages: list[str], size: int) -> None:
    text, starts = "", []
    for page in pages:
        starts.append(len(text))
        text += page + "\n\n"
    document = SourceDocument("doc", "Title", "file:///doc.pdf", text, {}, tuple(starts))
    for chunk in chunk_document(document, size, size // 5):
        assert document.text[chunk.start:chunk.end] == chunk.text
        page_start = starts[chunk.page - 1]
        page_end = starts[chunk.page] if chunk.page < len(starts) else len(text)
        assert page_start <= chunk.start < chunk.end <= page_end


# ----- citation parser and verifier -------------------------------------------------------------
@pytest.fixture(scope="module")
def passages() -> tuple[str, list[Any]]:
    text = seed_text()
    document = SourceDocument("seed", "Seed", "https://example.org/seed", text)
    return text, number_passages(chunk_document(document, 600, 100)[:5])


MARKERS = st.one_of(st.integers(-2, 12).map(lambda n: f"[{n}]"),
                    st.tuples(st.integers(0, 9), st.sampled_from([",", ", ", "-", "–", " and ", ";"]),
                              st.integers(0, 40)).map(lambda t: f"[{t[0]}{t[1]}{t[2]}]"),
                    st.sampled_from(["[", "]", "[]", "[[1]]", "[1", "1]", "[x]", "[99999999999999999999]"]))


@given(pieces=st.lists(st.one_of(MARKERS, st.text(max_size=40)), max_size=20))
@examples(200)
def test_markers_parse_from_any_text(pieces: list[str]) -> None:
    text = " ".join(pieces)
    for sentence in split_answer(text):
        stripped, cited = parse_markers(sentence)
        assert isinstance(stripped, str) and all(isinstance(n, int) and n >= 0 for n in cited)
        assert len(cited) == len(set(cited))


@given(data=st.data())
@examples(40)
def test_every_verified_citation_quotes_its_document_exactly(passages: tuple[str, list[Any]], embeddings: Any,
                                                             data: st.DataObject) -> None:
    text, numbered = passages
    sentences = [p.chunk.text[s.start:s.end] for p in numbered for s in split_sentences(p.chunk.text)]
    parts = data.draw(st.lists(st.one_of(st.sampled_from(sentences), MARKERS, st.text(max_size=60)), max_size=12))
    answer = " ".join(parts)
    verified = Verifier(embeddings).verify(answer, numbered)
    assert [c.n for c in verified.citations] == list(range(1, len(verified.citations) + 1))
    for citation in verified.citations:
        assert text[citation.start:citation.end] == citation.quote
    used = {n for sentence in split_answer(verified.text) for n in parse_markers(sentence)[1]}
    assert used <= {c.n for c in verified.citations}
    assert verified.declined == (not verified.citations)


# ----- the question path -------------------------------------------------------------------------
QUESTIONS = st.one_of(st.text(max_size=300), st.text(alphabet=st.characters(codec="utf-8"), max_size=80),
                      st.lists(WORDS, max_size=30).map(" ".join),
                      st.sampled_from(["Who ordered the delivery?", "What did Russia send Cuba?"]).flatmap(
                          lambda q: st.text(max_size=20).map(lambda junk: junk + q + junk)),
                      st.integers(MAX_QUESTION_CHARS - 5, MAX_QUESTION_CHARS + 5).map(lambda n: "w" * n))


@given(question=QUESTIONS)
@examples(300)
def test_clean_question_gives_usable_text_or_an_input_error(question: str) -> None:
    try:
        cleaned = clean_question(question)
    except InputError as error:
        assert str(error).strip()
        return
    assert cleaned == cleaned.strip() and 0 < len(cleaned) <= MAX_QUESTION_CHARS
    assert any(ch.isalnum() for ch in cleaned)
    assert "  " not in cleaned and all(ch == " " or not ch.isspace() for ch in cleaned)
    assert not any(unicodedata.category(ch).startswith("C") for ch in cleaned)


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory, seed_data_dir: Path) -> Assistant:
    data_dir = tmp_path_factory.mktemp("fuzz-store") / "data"
    shutil.copytree(seed_data_dir, data_dir)
    return Assistant.from_settings(make_settings(data_dir))


@given(question=QUESTIONS)
@examples(30)
def test_any_question_gets_an_answer_or_an_input_error(assistant: Assistant, question: str) -> None:
    try:
        answer = assistant.ask(question)
    except InputError as error:
        assert str(error).strip()
        return
    assert isinstance(answer, Answer) and answer.text.strip()
    assert answer.abstained == (not answer.citations)
    for citation in answer.citations:
        stored = assistant.store.get_document(citation.doc_id)
        assert stored is not None and stored.text[citation.start:citation.end] == citation.quote
