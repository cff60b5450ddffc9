from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from rag.config import PROJECT_ROOT
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


@pytest.mark.parametrize("damage", [b"", b"{not json", b"PK\x03\x04" + bytes(range(256)) * 8],
                         ids=["empty", "not-an-archive", "broken-archive"])
def test_damaged_cache_is_rebuilt(tmp_path: Path, damage: bytes) -> None:
    KeywordIndex(tmp_path / "kw").sync({"d1": "v1"}, lambda ids: CHUNKS[:2], "gen1")
    [saved] = (tmp_path / "kw").iterdir()
    saved.write_bytes(damage)
    index = KeywordIndex(tmp_path / "kw")
    assert len(index) == 0 and index.generation is None
    assert index.sync({"d1": "v1"}, lambda ids: CHUNKS[:2], "gen1") and len(index) == 2


def test_a_damaged_save_is_not_loaded_in_part(tmp_path: Path) -> None:
    """A reader told by the saved generation that the work is done, but whose file is damaged,
    keeps its own index and brings it up to date from the store instead."""
    reader = KeywordIndex(tmp_path / "kw")
    reader.sync({"d1": "v1"}, lambda ids: CHUNKS[:2], "gen1")
    KeywordIndex(tmp_path / "kw").sync({"d1": "v1", "d2": "v1"}, lambda ids: [c for c in CHUNKS[:3] if c.doc_id in ids],
                                       "gen2")
    for part in (tmp_path / "kw").rglob("*"):  # everything but the generation stamp, in any layout
        if part.is_file() and part.name != "generation":
            data = part.read_bytes()
            part.write_bytes(data[:30] + bytes(len(data) - 60) + data[-30:])
    assert reader.sync({"d1": "v1", "d2": "v1"}, lambda ids: [c for c in CHUNKS[:3] if c.doc_id in ids], "gen2")
    assert reader.generation == "gen2" and len(reader) == 3 and reader.search("Patrushev", 1)[0][0] == "c"


def test_a_save_that_cannot_be_written_is_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should be")
    index = KeywordIndex(blocked / "kw")
    with caplog.at_level(logging.WARNING, logger="rag.keyword"):
        assert index.sync({"d1": "v1"}, lambda ids: CHUNKS[:2], "gen1")
    assert "could not save the keyword index" in caplog.text
    assert index.search("cargo", 1)[0][0] in {"a", "b"}  # still serves this process


SAVE_SCRIPT = """
import sys
from pathlib import Path
from rag.keyword import KeywordIndex
from rag.types import Chunk
path, me, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
index = KeywordIndex()
index.path = path
index.add([Chunk(id=f"{me}-{n}", doc_id=f"{me}-doc", title="", source="", text=f"word{n} of writer {me}",
                 start=0, end=9, index=n, doc_version="v1") for n in range(200)])
index.generation = f"gen-{me}"
for _ in range(rounds):
    assert index.save() is not False  # the old save returned None, and raised when it failed
"""


def test_two_processes_saving_at_once_each_leave_a_whole_index(tmp_path: Path) -> None:
    path = tmp_path / "kw"
    writers = [subprocess.Popen([sys.executable, "-c", SAVE_SCRIPT, str(path), me, "150"], cwd=PROJECT_ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE) for me in ("x", "y")]
    for writer in writers:
        _, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err.decode()
    index = KeywordIndex(path)
    me = index.generation.removeprefix("gen-")  # type: ignore[union-attr]
    assert me in {"x", "y"} and len(index) == 200 and set(index.versions) == {f"{me}-doc"}
    assert [p.name for p in path.parent.iterdir()] == ["kw"] and [p.name for p in path.iterdir()] == ["index.npz"]


def test_an_index_saved_by_another_process_is_loaded_not_rebuilt(tmp_path: Path) -> None:
    writer = KeywordIndex(tmp_path / "kw")
    writer.sync({"d1": "v1", "d2": "v1"}, lambda ids: [c for c in CHUNKS if c.doc_id in ids], "gen1")
    reader = KeywordIndex(tmp_path / "kw")
    writer.sync({"d1": "v1", "d2": "v1", "d3": "v1"}, lambda ids: [c for c in CHUNKS if c.doc_id in ids], "gen2")

    def must_not_fetch(ids: list[str]) -> list[Chunk]:
        raise AssertionError(f"fetched {ids}")

    assert reader.sync({"d1": "v1", "d2": "v1", "d3": "v1"}, must_not_fetch, "gen2")
    assert reader.search("Bushfires", 1)[0][0] == "d" and reader.generation == "gen2"
