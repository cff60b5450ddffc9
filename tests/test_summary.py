"""Whole-document requests: recognised from the question, answered with the document's covering sentences."""

from __future__ import annotations

import numpy as np
import pytest

from rag.assistant import Assistant
from rag.retrieval import Filters
from rag.summary import SummaryRequest, choose, lexrank, summary_length, summary_request

from .conftest import SEED_ID, seed_text


@pytest.fixture
def store_mode() -> str:
    """The summary reads the store through ``ChunkStore``; the embedded store is enough here."""
    return "embedded"


@pytest.mark.parametrize("question, target", [
    ("Summarise the article", "the article"),
    ("Summarize this document.", "this document"),
    ("please summarise", ""),
    ("Can you sum up the Cuba report?", "the Cuba report"),
    ("Give me a short summary of the article", "the article"),
    ("Summary of Russia Sends Aid To Cuba Regime", "Russia Sends Aid To Cuba Regime"),
    ("TL;DR", ""),
    ("tldr of the article?", "the article"),
    ("Overview, please", ""),
    ("What is the gist of the report?", "the report"),
    ("What are the key points of the Cuba article?", "the Cuba article"),
    ("List the main points", ""),
    ("key takeaways from this paper", "this paper"),
    ("What is this article about?", "this article"),
    ("What's the Warsaw Institute article about?", "the Warsaw Institute article"),
    ('What is "Russia Sends Aid To Cuba Regime" about?', "Russia Sends Aid To Cuba Regime"),
])
def test_whole_document_requests_are_recognised(question: str, target: str) -> None:
    assert summary_request(question) == SummaryRequest(target)


@pytest.mark.parametrize("question", [
    # About one thing a summary said: an ordinary question, answered from the closest passages.
    "What did the summary of the report say about costs?",
    "Who wrote the summary?",
    "What is Russia worried about?",            # "what is X about" needs X to name a document
    "What are the points of contention between Russia and the US?",
    "What did Russia send Cuba and why?",
    "How did the article's author summarise Putin's motives?",
    "What is the capital of France?",
    "Is there an overview of the sanctions in the documents from 2021 that mentions Biden?",
])
def test_ordinary_questions_are_not_summary_requests(question: str) -> None:
    assert summary_request(question) is None


def test_lexrank_and_mmr_prefer_central_sentences_and_drop_repeats() -> None:
    a, b, c = np.eye(3, dtype=np.float32)
    central = (a + b) / np.linalg.norm(a + b)
    rows = np.asarray([central, central, a, c], dtype=np.float32)
    scores = lexrank(rows)
    assert scores[0] == pytest.approx(scores[1]) and scores[0] > scores[3]
    assert 0 in choose(rows, 2) or 1 in choose(rows, 2)
    assert not {0, 1} <= set(choose(rows, 2))     # the repeat is left out
    assert summary_length(3) == 4 and summary_length(10_000) == 8


def test_summarise_the_article_covers_aid_reasons_and_the_2019_ties(seed_assistant: Assistant) -> None:
    answer = seed_assistant.ask("Summarise the article")
    assert not answer.abstained and answer.trace["summary_of"] == SEED_ID
    assert len(answer.citations) >= 4
    text = seed_text()
    for citation in answer.citations:
        assert citation.doc_id == SEED_ID and text[citation.start:citation.end] == citation.quote
        assert f"[{citation.n}]" in answer.text
    starts = [c.start for c in answer.citations]
    assert starts == sorted(starts)                       # in document order
    quotes = " ".join(c.quote for c in answer.citations)
    assert "humanitarian aid" in quotes                   # the aid
    assert "regime shift" in quotes or "influence" in quotes or "ally" in quotes   # the reasons
    assert "2019" in quotes                               # the ties since 2019


def test_a_single_document_filter_chooses_the_document(seed_assistant: Assistant) -> None:
    answer = seed_assistant.ask("What are the key points?", filters=Filters(doc_ids=(SEED_ID,)))
    assert not answer.abstained and answer.trace["summary_of"] == SEED_ID and len(answer.citations) >= 4


def test_an_unknown_single_document_is_declined(seed_assistant: Assistant) -> None:
    answer = seed_assistant.ask("Summarise this document", filters=Filters(doc_ids=("no-such-document",)))
    assert answer.abstained and answer.citations == []


NOTE = """---
id: lunar-greenhouse
title: Lunar Greenhouse Report
---
The lunar greenhouse grew 42 kilograms of potatoes in its first season.
The harvest was led by botanist Mara Quell in the north dome.
"""


@pytest.mark.parametrize("question, history, document", [
    ("What are the key points of the greenhouse report?", [], "lunar-greenhouse"),   # named by its title
    ("Summarise the Cuba article", [], SEED_ID),
    ("Summarise it", [("Who led the harvest?", "The harvest was led by botanist Mara Quell [1].")],
     "lunar-greenhouse"),                                                            # the last answer's document
])
def test_the_document_is_the_one_the_request_names(seed_settings, embeddings, tmp_path,  # type: ignore[no-untyped-def]
                                                   question: str, history: list, document: str) -> None:
    from rag.ingestion import Ingestor
    from rag.wiring import open_store

    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "greenhouse.md").write_text(NOTE, encoding="utf-8")
    Ingestor(open_store(seed_settings, embeddings), embeddings, seed_settings).ingest_paths([folder])
    answer = Assistant.from_settings(seed_settings).ask(question, history=history)
    assert answer.trace["summary_of"] == document and not answer.abstained
    assert {c.doc_id for c in answer.citations} == {document}
