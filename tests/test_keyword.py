from __future__ import annotations

from pathlib import Path

from rag.keyword import KeywordIndex, tokenize
from rag.types import Chunk


def chunk(cid: str, doc: str, text: str, version: str = "v1") -> Chunk:
    return Chunk(id=cid, doc_id=doc, title="", source="", text=text, start=0, end=len(text), index=0, doc_version=version)


CHUNKS = [
    chunk("a", "d1", "Two An-124 cargo planes carried the aid to Havana."),
    chunk("b", "d1", "The cargo included food and medical masks."),
    chunk("c", "d2", "Nikolai Patrushev visited Havana in October 2019."),
    chunk("d", "d3", "Bushfires burned near Sydney as residents fled."),
]


def test_tokenize_stems_and_keeps_numbers() -> None:
    assert tokenize("The Planes carried 124 masks") == ["plane", "carri", "124", "mask"]


def test_ranking_prefers_rare_terms() -> None:
    index = KeywordIndex()
    index.add(CHUNKS)
    assert [i for i, _ in index.search("Patrushev Havana", 2)] == ["c", "a"]
    assert index.search("nothing matches", 3) == []


def test_incremental_add_remove_and_doc_filter() -> None:
    index = KeywordIndex()
    index.add(CHUNKS[:2])
    index.add(CHUNKS[2:])
    assert index.search("Havana", 5, doc_ids={"d2"}) == [("c", index.search("Havana", 5, doc_ids={"d2"})[0][1])]
    index.remove_document("d2")
    assert "c" not in [i for i, _ in index.search("Havana", 5)]
    assert len(index) == 3


def test_persisted_index_reloads(tmp_path: Path) -> None:
    index = KeywordIndex(tmp_path / "kw")
    index.sync({"d1": "v1", "d2": "v1", "d3": "v1"}, lambda ids: [c for c in CHUNKS if c.doc_id in ids], "gen1")
    reloaded = KeywordIndex(tmp_path / "kw")
    assert reloaded.generation == "gen1"
    assert reloaded.search("masks food", 1) == index.search("masks food", 1)
    # Sync applies only the difference: d3 removed, d1 replaced.
    changed = reloaded.sync({"d1": "v2", "d2": "v1"},
                            lambda ids: [chunk("e", "d1", "Gold was not sent.", "v2")] if "d1" in ids else [], "gen2")
    assert changed and reloaded.search("Bushfires", 3) == [] and reloaded.search("gold", 1)[0][0] == "e"
    assert reloaded.search("masks", 3) == []


def test_damaged_cache_is_rebuilt(tmp_path: Path) -> None:
    folder = tmp_path / "kw"
    folder.mkdir()
    (folder / "meta.json").write_text("{not json")
    index = KeywordIndex(folder)
    assert len(index) == 0 and index.generation is None


def test_an_index_saved_by_another_process_is_loaded_not_rebuilt(tmp_path: Path) -> None:
    writer = KeywordIndex(tmp_path / "kw")
    writer.sync({"d1": "v1", "d2": "v1"}, lambda ids: [c for c in CHUNKS if c.doc_id in ids], "gen1")
    reader = KeywordIndex(tmp_path / "kw")
    writer.sync({"d1": "v1", "d2": "v1", "d3": "v1"}, lambda ids: [c for c in CHUNKS if c.doc_id in ids], "gen2")

    def must_not_fetch(ids: list[str]) -> list[Chunk]:
        raise AssertionError(f"fetched {ids}")

    assert reader.sync({"d1": "v1", "d2": "v1", "d3": "v1"}, must_not_fetch, "gen2")
    assert reader.search("Bushfires", 1)[0][0] == "d" and reader.generation == "gen2"
