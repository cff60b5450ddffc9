from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rag.cli import main
from rag.config import PROJECT_ROOT

from .conftest import SEED_ID, seed_text, store_flags


def run(capsys, *args: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_ask_json_contract(seed_settings, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(capsys, "ask", "--json", *store_flags(seed_settings), "--backend", "extractive",
                       "What did Russia send Cuba and why?")
    assert code == 0
    data = json.loads(out)
    assert set(data) >= {"question", "answer", "abstained", "citations", "timings_ms"}
    assert data["abstained"] is False and data["citations"]
    assert data["declined_by"] is None and data["answered_by_fallback"] is None
    text = seed_text()
    numbers = [c["n"] for c in data["citations"]]
    assert numbers == list(range(1, len(numbers) + 1))
    for citation in data["citations"]:
        assert set(citation) >= {"n", "doc_id", "title", "source", "quote", "start", "end"}
        assert text[citation["start"]:citation["end"]] == citation["quote"]
    import re
    assert sorted(set(int(n) for n in re.findall(r"\[(\d+)\]", data["answer"]))) == numbers


def test_ask_json_declines_without_citations(seed_settings, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(capsys, "ask", "--json", *store_flags(seed_settings), "--backend", "extractive",
                       "What is the capital of France?")
    data = json.loads(out)
    assert code == 0 and data["abstained"] is True and data["citations"] == []
    assert data["declined_by"]   # which check declined it, e.g. "retrieval threshold"


def test_ask_reads_questions_from_stdin(seed_settings, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import io
    monkeypatch.setattr("sys.stdin", io.StringIO("Who ordered the delivery?\n\nWhat is the capital of France?\n"))
    code, out, _ = run(capsys, "ask", "--json", *store_flags(seed_settings), "--backend", "extractive", "-")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [d["abstained"] for d in lines] == [False, True]


def test_search_json(seed_settings, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(capsys, "search", "--json", "--k", "3", *store_flags(seed_settings), "An-124 cargo planes")
    data = json.loads(out)
    assert code == 0 and len(data["hits"]) == 3
    top = data["hits"][0]
    assert top["doc_id"] == SEED_ID and "An-124" in top["text"]
    assert seed_text()[top["start"]:top["end"]] == top["text"]
    assert set(top) >= {"rank", "score", "relevance", "doc_id", "title", "source", "start", "end"}


def test_human_output_lists_sources(seed_settings, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(capsys, "ask", *store_flags(seed_settings), "--backend", "extractive",
                       "Who ordered the delivery?")
    assert code == 0 and "Sources:" in out and "[1] Russia Sends Aid To Cuba Regime" in out
    assert "https://warsawinstitute.org/" in out


def test_list_and_remove(seed_settings, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(capsys, "list", "--json", *store_flags(seed_settings))
    assert code == 0 and json.loads(out)["doc_id"] == SEED_ID
    code, out, _ = run(capsys, "remove", SEED_ID, *store_flags(seed_settings))
    assert code == 0 and "removed" in out


@pytest.mark.parametrize("args, message", [
    (["ask", ""], "question is empty"),
    (["ingest", "/nonexistent/path"], "no such file"),
    (["ask", "What did Russia send?"], "store is empty"),
    (["search", "aid"], "store is empty"),
])
def test_errors_are_messages_not_tracebacks(tmp_path, capsys, args, message) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run(capsys, *args, "--data-dir", str(tmp_path / "empty"), "--backend", "extractive") \
        if args[0] == "ask" else run(capsys, *args, "--data-dir", str(tmp_path / "empty"))
    assert code != 0 and message in err and "Traceback" not in err


def test_binary_file_is_reported_and_exit_is_nonzero(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "scan.txt"
    bad.write_bytes(bytes(range(256)) * 50)
    code, out, err = run(capsys, "ingest", str(bad), "--data-dir", str(tmp_path / "d"))
    assert code == 2 and "scan.txt" in err and "binary" in err and "Traceback" not in err


def test_command_line_entry_point(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The real ``python -m rag`` process: progress bar, one-line summary, exit code."""
    env = {**os.environ, "RAG_DATA_DIR": str(tmp_path / "d")}
    result = subprocess.run([sys.executable, "-m", "rag", "ingest", str(PROJECT_ROOT / "corpus")], env=env,
                            capture_output=True, text=True, timeout=300, cwd=PROJECT_ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("1 document (0 unchanged): chunks")
    result = subprocess.run([sys.executable, "-m", "rag", "ask", "--json", "--backend", "extractive", " "], env=env,
                            capture_output=True, text=True, timeout=300, cwd=PROJECT_ROOT)
    assert result.returncode == 2 and "question is empty" in result.stderr and "Traceback" not in result.stderr


def test_copy_moves_the_corpus_to_a_server_and_resumes(seed_data_dir, chroma_server, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """`rag copy --to URL`: the server answers like the embedded store; a rerun after an
    interruption copies only what is missing."""
    import shutil

    import chromadb

    source = tmp_path / "source"
    shutil.copytree(seed_data_dir, source)
    flags = ["--data-dir", str(source), "--collection", "corpus"]
    question = "What did Russia send Cuba and why?"
    code, before, _ = run(capsys, "search", "--json", *flags, question)
    assert code == 0
    code, out, err = run(capsys, "copy", *flags, "--to", chroma_server)
    assert code == 0, err
    total = int(out.split()[1])
    assert total > 2
    server = ["--data-dir", str(tmp_path / "client"), "--chroma-url", chroma_server, "--collection", "corpus"]
    code, after, _ = run(capsys, "search", "--json", *server, question)
    assert code == 0
    assert [h["chunk_id"] for h in json.loads(after)["hits"]] == [h["chunk_id"] for h in json.loads(before)["hits"]]
    # As if the copy had died: two chunks are missing on the server; the rerun copies just those.
    url = chroma_server.rsplit(":", 1)
    chunks = chromadb.HttpClient(host="127.0.0.1", port=int(url[1])).get_collection("corpus")
    chunks.delete(ids=chunks.get(limit=2, include=[])["ids"])
    code, out, _ = run(capsys, "copy", *flags, "--to", chroma_server)
    assert code == 0 and out.split()[1] == "2"
    code, _, err = run(capsys, "copy", *flags, "--to", str(source))
    assert code != 0 and "names the store being copied" in err


def store_contents(settings) -> dict:  # type: ignore[no-untyped-def]
    """Documents (version, chunk count), visible chunks (doc, offsets, text) and the record count."""
    from rag.store import ChunkStore, open_client
    store = ChunkStore(open_client(settings), settings.collection, None)  # type: ignore[arg-type]
    return {"documents": {d.doc_id: (d.version, d.chunk_count) for d in store.list_documents()},
            "chunks": sorted((c.id, c.doc_id, c.start, c.end, c.text) for c in store.iter_chunks()),
            "records": store.count_chunks()}


def test_copy_again_brings_changed_and_removed_documents_over(embeddings, chroma_server, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    import uuid

    from rag.ingestion import Ingestor
    from rag.wiring import open_store

    from .conftest import make_settings

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("Alpha council approved the bridge. It will open in May. Traffic will be diverted.")
    (folder / "b.txt").write_text("Beta club won the final. Fans celebrated all night.")
    collection = f"sync-{uuid.uuid4().hex[:8]}"
    source = make_settings(tmp_path / "source", collection=collection)
    target = make_settings(tmp_path / "client", collection=collection, chroma_url=chroma_server)
    ingest = Ingestor(open_store(source, embeddings), embeddings, source)
    ingest.sync_folder(folder)
    flags = ["--data-dir", str(source.data_dir), "--collection", collection]
    assert run(capsys, "copy", *flags, "--to", chroma_server)[0] == 0
    assert store_contents(target) == store_contents(source)

    (folder / "a.txt").write_text("Alpha council rejected the bridge. It will open in May. Traffic will be diverted.")
    (folder / "b.txt").unlink()
    (folder / "c.txt").write_text("Gamma rays were detected over the harbour.")
    ingest.sync_folder(folder)
    code, out, err = run(capsys, "copy", *flags, "--to", chroma_server)
    assert code == 0, err
    assert store_contents(target) == store_contents(source)  # no old version, no removed document, no stray chunk
    assert "removed" in out and int(out.split("; removed ")[1].split()[0]) > 0
    code, out, _ = run(capsys, "copy", *flags, "--to", chroma_server)
    assert code == 0 and out.startswith("copied 0 records") and "removed 0" in out  # in step: nothing to do
