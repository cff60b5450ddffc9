"""Front matter is a few lines of metadata, read within bounds: an alias bomb, a huge or deep block,
reserved keys and ids are refused with a message naming the file, and the rest of a batch goes on."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from rag.cli import main
from rag.errors import LoadError
from rag.loading import load_file

BODY = "The harbour ferry Aurora carried 240 passengers on its first crossing.\n"


def alias_bomb(levels: int = 9) -> str:
    """Nine levels of nine aliases each: under 1 kB of YAML, 9**9 strings once turned into text."""
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, levels):
        lines.append(f"l{n}: &l{n} [{','.join([f'*l{n - 1}'] * 9)}]")
    return "\n".join(lines)


# (id, front matter, what the message says)
REFUSED = [
    ("alias-bomb", alias_bomb(), "anchors or aliases"),
    ("one-alias", "title: &t Harbour\nauthor: *t", "anchors or aliases"),
    ("over-8-kB", "title: Harbour\nnotes: " + "word " * 2000, "the limit is 8,192"),
    ("too-deep", "a: {b: {c: {d: {e: {f: 1}}}}}", "nested over 4 levels"),
    ("too-many-values", "tags: [" + ",".join(str(n) for n in range(300)) + "]", "over 200 values"),
    ("long-value", "title: " + "x" * 1500, "the limit is 1,000"),
    ("path-key", "path: /work/corpus/russia-sends-aid-to-cuba-regime.txt", "sets 'path', which only the store sets"),
    ("generation-id", "id: __generation__", "reserved or unusable"),
]


@pytest.mark.parametrize("front, reason", [(f, r) for _, f, r in REFUSED], ids=[i for i, _, _ in REFUSED])
def test_refused_front_matter_is_a_load_error_naming_the_file(tmp_path: Path, front: str, reason: str) -> None:
    path = tmp_path / "hostile.md"
    path.write_text(f"---\n{front}\n---\n{BODY}")
    started = time.monotonic()
    with pytest.raises(LoadError) as error:
        load_file(path)
    assert time.monotonic() - started < 5
    assert error.value.path == str(path) and reason in error.value.reason
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("source", ["javascript:alert(1)", "file:///etc/passwd"])
def test_a_source_that_is_not_a_web_address_is_dropped_and_the_text_kept(tmp_path: Path, source: str) -> None:
    path = tmp_path / "odd-source.md"
    path.write_text(f"---\ntitle: Harbour notes\nsource: {source}\n---\n{BODY}")
    [document] = load_file(path)
    assert document.source != source and source not in str(document.metadata)
    assert document.text == BODY.strip()


def test_plain_front_matter_still_gives_title_source_and_date(tmp_path: Path) -> None:
    path = tmp_path / "fine.md"
    path.write_text(f"---\nid: harbour-notes\ntitle: Harbour notes\nsource: https://example.org/h\n"
                    f"date: 2024-03-05\ntags: [ferry, port]\n---\n{BODY}")
    [document] = load_file(path)
    assert (document.doc_id, document.title, document.source) == ("harbour-notes", "Harbour notes",
                                                                  "https://example.org/h")
    assert document.metadata["date"] == "2024-03-05" and document.text == BODY.strip()


def test_an_alias_bomb_in_a_batch_is_skipped_quickly_and_the_rest_is_ingested(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    bomb = folder / "bomb.md"
    bomb.write_text(f"---\n{alias_bomb()}\n---\n{BODY}")
    assert len(bomb.read_bytes()) < 1024
    (folder / "good.md").write_text(BODY)
    started = time.monotonic()
    code = main(["ingest", str(folder), "--data-dir", str(tmp_path / "data")])
    out, err = capsys.readouterr()
    assert time.monotonic() - started < 60
    assert code == 0 and "1 document" in out
    assert f"skipped {bomb}: the front matter uses YAML anchors or aliases (& and *); write the values out" in err
