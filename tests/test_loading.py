from __future__ import annotations

from pathlib import Path

import pytest

from rag.errors import InputError, LoadError
from rag.loading import discover, load_file

from .conftest import SEED_ID, SEED_PATH


def test_shipped_article_keeps_its_metadata_and_verbatim_body() -> None:
    [document] = load_file(SEED_PATH)
    assert document.doc_id == SEED_ID
    assert document.title == "Russia Sends Aid To Cuba Regime"
    assert document.source == "https://warsawinstitute.org/russia-sends-aid-cuba-regime/"
    assert document.metadata["publisher"] == "Warsaw Institute"
    original = (SEED_PATH.parent.parent.parent / "shared" / "seed" / "000_44af5817ceda38b1.txt")
    raw = original.read_text() if original.exists() else SEED_PATH.read_text().split("---\n", 2)[2]
    # Cleaning touches only runs of blank lines: every line of the article is kept verbatim.
    for line in raw.splitlines():
        assert line.strip() in document.text


@pytest.mark.parametrize("name, content, title, source", [
    ("note.md", "# Budget 2024\n\nThe budget grew.", "Budget 2024", None),
    ("plain.txt", "Floods in Perth\nRain fell all week.", "Floods in Perth", None),
    ("story.txt", "Storm hits coast.\n\nSource: <https://news.example/storm>", "Storm hits coast.", "https://news.example/storm"),
    ("front.md", "---\ntitle: Given\nsource: https://x.example/a\ndate: 2021-07-20\n---\nBody text.", "Given", "https://x.example/a"),
])
def test_titles_and_sources(tmp_path: Path, name: str, content: str, title: str, source: str | None) -> None:
    path = tmp_path / name
    path.write_text(content)
    [document] = load_file(path)
    assert document.title == title
    assert document.source == (source or path.resolve().as_uri())


def test_non_utf8_text_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "latin.txt"
    path.write_bytes("Café au lait in Besançon costs 3 euros. Très cher, déclare le maire.".encode("cp1252"))
    [document] = load_file(path)
    assert "Besançon" in document.text


@pytest.mark.parametrize("name, data, reason", [
    ("empty.txt", b"", "no text"),
    ("blank.md", b"\n \n\t\n", "no text"),
    ("binary.txt", bytes(range(256)) * 40, "binary"),
    ("image.txt", b"\x89PNG\r\n\x1a\n" + b"\x00\x01\x02" * 500, "binary"),
])
def test_bad_files_are_reported_by_name(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(LoadError) as error:
        load_file(path)
    assert error.value.path == str(path) and reason in error.value.reason


def test_discover_walks_folders_and_reports_unsupported(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("A.")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.md").write_text("B.")
    (tmp_path / "sub" / "c.xyz").write_text("C.")
    (tmp_path / ".hidden.txt").write_text("H.")
    (tmp_path / "sub" / "loop").symlink_to(tmp_path, target_is_directory=True)
    found = discover([tmp_path, tmp_path / "sub" / "c.xyz"])
    assert sorted(p.name for p in found.files) == ["a.txt", "b.md"]
    assert [e.path for e in found.skipped] == [str(tmp_path / "sub" / "c.xyz")]


def test_missing_path_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        discover([tmp_path / "nope"])
