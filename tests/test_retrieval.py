"""Each retrieval stage has a test that fails when the stage is switched off."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.ingestion import Ingestor
from rag.keyword import KeywordIndex
from rag.retrieval import Filters, Retriever, maximal_marginal_relevance, reciprocal_rank_fusion, relative_score_fusion
from rag.wiring import open_store

DOCUMENTS = {
    # Four notices that differ only in amount, city and season: dense search blurs the amounts.
    **{f"notice-{i}": ("Procurement notice", f"2020-03-0{i + 1}",
                       f"The ministry signed a supply contract worth {amount} euros with a shipping firm in {city}. "
                       f"Deliveries start in {season}.")
       for i, (amount, city, season) in enumerate([("4,750,000", "Gdansk", "spring"), ("3,200,000", "Gdynia", "summer"),
                                                   ("8,100,000", "Szczecin", "autumn"), ("1,950,000", "Elblag", "winter")])},
    "clinic": ("Health report", "2021-06-15",
               "The physician prescribed medication for the child's high temperature. She recovered within two days."),
    "harbour": ("Harbour news", "2021-09-30",
                "The harbour reopened after storm repairs. Fishing boats returned to the quay on Monday."),
    "harbour-copy": ("Harbour news (syndicated)", "2021-10-01",
                     "The harbour reopened after storm repairs. Fishing boats returned to the quay on Monday."),
    "budget": ("City budget", "2022-01-10",
               "The council approved a larger budget for schools. Teachers welcomed the decision."),
    "football": ("Sports", "2022-05-05",
                 "The home team won the cup final after extra time. Supporters celebrated in the streets."),
    "weather": ("Weather", "2022-07-07",
                "A heatwave pushed temperatures above forty degrees. Authorities warned people to stay indoors."),
}


@pytest.fixture
def retrieval_settings(settings, embeddings, tmp_path: Path):  # type: ignore[no-untyped-def]
    folder = tmp_path / "docs"
    folder.mkdir()
    for doc_id, (title, date, text) in DOCUMENTS.items():
        (folder / f"{doc_id}.md").write_text(f"---\nid: {doc_id}\ntitle: {title}\ndate: {date}\n---\n{text}\n")
    Ingestor(open_store(settings, embeddings), embeddings, settings).ingest_paths([folder])
    return settings


def retriever(settings, embeddings, mode: str, **options) -> Retriever:  # type: ignore[no-untyped-def]
    keyword = KeywordIndex(settings.cache_dir / f"kw-{mode}") if mode != "dense" else None
    return Retriever(open_store(settings, embeddings), embeddings, keyword, mode=mode, **options)  # type: ignore[arg-type]


def top_docs(r: Retriever, query: str, k: int = 3, filters: Filters = Filters()) -> list[str]:
    return [h.chunk.doc_id for h in r.search(query, k, filters)]


def test_an_amount_only_keyword_search_finds(retrieval_settings, embeddings) -> None:  # type: ignore[no-untyped-def]
    query = "contract worth 3,200,000 euros"
    assert top_docs(retriever(retrieval_settings, embeddings, "bm25"), query, 1) == ["notice-1"]
    assert top_docs(retriever(retrieval_settings, embeddings, "hybrid"), query, 1) == ["notice-1"]
    assert top_docs(retriever(retrieval_settings, embeddings, "dense"), query, 1) != ["notice-1"]


def test_a_paraphrase_only_dense_search_finds(retrieval_settings, embeddings) -> None:  # type: ignore[no-untyped-def]
    query = "doctor gave drugs to a kid with fever"
    assert "clinic" not in top_docs(retriever(retrieval_settings, embeddings, "bm25"), query, 3)
    assert top_docs(retriever(retrieval_settings, embeddings, "dense"), query, 1) == ["clinic"]
    assert top_docs(retriever(retrieval_settings, embeddings, "hybrid"), query, 1) == ["clinic"]


def test_near_duplicates_are_dropped(retrieval_settings, embeddings) -> None:  # type: ignore[no-untyped-def]
    docs = top_docs(retriever(retrieval_settings, embeddings, "hybrid"), "When did the harbour reopen?", 3)
    assert docs[0] in ("harbour", "harbour-copy")
    assert not {"harbour", "harbour-copy"} <= set(docs)
    # With diversity off and no duplicate threshold, both copies come back.
    plain = retriever(retrieval_settings, embeddings, "hybrid", diversity=0.0)
    vectors = np.eye(3, dtype=np.float32)
    assert maximal_marginal_relevance(vectors[0], np.vstack([vectors[0], vectors[0], vectors[1]]), [0, 1, 2], 3, 0.0) == [0, 2]
    assert {"harbour", "harbour-copy"} & set(top_docs(plain, "When did the harbour reopen?", 3))


@pytest.mark.parametrize("filters, allowed", [
    (Filters(doc_ids=("weather", "football")), {"weather", "football"}),
    (Filters(date_from="2022-01-01"), {"budget", "football", "weather"}),
    (Filters(date_to="2020-12-31"), {f"notice-{i}" for i in range(4)}),
    (Filters(date_from="2021-01-01", date_to="2021-12-31"), {"clinic", "harbour", "harbour-copy"}),
])
def test_filters(retrieval_settings, embeddings, filters: Filters, allowed: set[str]) -> None:  # type: ignore[no-untyped-def]
    for mode in ("dense", "bm25", "hybrid"):
        docs = top_docs(retriever(retrieval_settings, embeddings, mode), "What happened to the harbour and the team?", 5, filters)
        assert set(docs) <= allowed
        assert docs or mode == "bm25"  # BM25 may legitimately match no word of the allowed documents


def test_fusions() -> None:
    rankings = {"dense": [("a", 0.90), ("c", 0.88), ("b", 0.50)], "bm25": [("c", 12.0), ("a", 2.0)]}
    assert [i for i, _, _ in reciprocal_rank_fusion(rankings)] == ["a", "c", "b"]  # ranks tie; a came first
    fused = relative_score_fusion(rankings, {"dense": 0.5, "bm25": 0.5})
    assert [i for i, _, _ in fused] == ["c", "a", "b"]  # c's large BM25 margin beats a's tiny dense lead
    assert fused[0][2] == {"dense": 2, "bm25": 1}
