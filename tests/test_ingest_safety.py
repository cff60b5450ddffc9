"""Ingestion is atomic and safe: a killed ingest, two ingests at once, and bad input.

The first two run ``python -m rag ingest`` as real processes (killed with SIGKILL, or racing
each other) and compare the store they leave with a clean run's, record by record.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import chromadb
import numpy as np
import pytest
from chromadb.config import Settings as ChromaSettings

from rag.cli import main
from rag.config import PROJECT_ROOT, Settings
from rag.errors import StoreError
from rag.ingestion import Ingestor, writer_lock
from rag.store import ChunkStore, open_client, opening_lock
from rag.types import SourceDocument
from rag.wiring import open_store

from . import documents as make
from .conftest import make_settings, store_flags

WORDS = "harbour ferry council budget storm bridge library station rainfall pier tide lighthouse market school".split()

# Run in a fresh process: a reader that never saw the writers' caches, as a user's next command is.
SNAPSHOT_SCRIPT = """
import json, sys
from rag.config import load_settings
from rag.store import ChunkStore, open_client, opening_lock
out = []
for data_dir in sys.argv[1:]:
    settings = load_settings(data_dir=data_dir)
    # Reading records needs no embedding model (and loading one would cost ~10 s a snapshot).
    store = ChunkStore(open_client(settings), settings.collection, None)
    documents = {d.doc_id: [d.version, d.chunk_count, d.title] for d in store.list_documents()}
    chunks = {c.id: c for c in store.iter_chunks()}
    vectors = {c.id: v for c, v in store.get_chunks(list(chunks), with_embeddings=True)}
    out.append({"documents": documents, "records": store.count_chunks(), "orphans": sorted(store.orphan_doc_ids()),
                "chunks": {i: [c.doc_id, c.doc_version, c.start, c.end, c.text, c.page] for i, c in chunks.items()},
                "vectors": vectors})
print(json.dumps(out))
"""


def write_corpus(root: Path, count: int = 200) -> Path:
    """``count`` small distinct text documents in three sub-folders (a/, b/, shared/)."""
    rng = random.Random(5)
    for n in range(count):
        folder = root / ("a" if n % 5 < 2 else "b" if n % 5 < 4 else "shared")
        folder.mkdir(parents=True, exist_ok=True)
        sentences = [f"Notice {n} says the {rng.choice(WORDS)} of district {n} needs {rng.randint(1, 999)} repairs."
                     for _ in range(rng.randint(2, 6))]
        (folder / f"notice-{n:03d}.txt").write_text(f"Notice number {n}\n\n{' '.join(sentences)}\n", encoding="utf-8")
    return root


def environment() -> dict[str, str]:
    # Small chunks (~3 a notice, ~600 in all) span several of ingest's 256-chunk commits, so an
    # ingest can be killed between two of them.
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False",
            "RAG_CHUNK_SIZE": "100", "RAG_CHUNK_OVERLAP": "20"}


def ingest_process(data_dir: Path, *paths: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "rag", "ingest", *map(str, paths), "--data-dir", str(data_dir)],
                            cwd=PROJECT_ROOT, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(process: subprocess.Popen[bytes], timeout_s: float = 600) -> str:
    out, err = process.communicate(timeout=timeout_s)
    assert process.returncode == 0, err.decode()
    return out.decode()


def snapshot(*data_dirs: Path) -> list[dict]:  # type: ignore[type-arg]
    """Every committed document, visible chunk (with its vector) and stray record of each store."""
    result = subprocess.run([sys.executable, "-c", SNAPSHOT_SCRIPT, *map(str, data_dirs)], cwd=PROJECT_ROOT,
                            env=environment(), capture_output=True, text=True, timeout=600, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def assert_same_store(got: dict, want: dict) -> None:  # type: ignore[type-arg]
    """Same documents (versions, chunk counts), same chunks (ids, offsets, texts), same vectors, no leftovers."""
    assert got["documents"] == want["documents"]
    assert got["chunks"] == want["chunks"]
    assert got["orphans"] == [] and got["records"] == len(got["chunks"])  # nothing half-written left behind
    for chunk_id, vector in want["vectors"].items():
        np.testing.assert_allclose(got["vectors"][chunk_id], vector, atol=1e-5)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("notices"))


@pytest.fixture(scope="module")
def clean_run(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:  # type: ignore[type-arg]
    """The store an uninterrupted, lone ingest of the corpus leaves."""
    data_dir = tmp_path_factory.mktemp("clean-run")
    assert "200 documents" in finish(ingest_process(data_dir, corpus))
    [state] = snapshot(data_dir)
    assert len(state["documents"]) == 200
    return state


def committed_documents(data_dir: Path) -> int | None:
    """Documents visible in a store another process is writing, or None before it has begun."""
    if not (data_dir / "write.lock").exists():
        return None  # not writing yet
    with opening_lock(data_dir / "chroma"):  # as open_client does: a new store is created under it
        client = chromadb.PersistentClient(path=str(data_dir / "chroma"), settings=ChromaSettings(anonymized_telemetry=False))
    try:
        # One record besides the documents marks the store's generation.
        return max(client.get_collection("corpus-documents").count() - 1, 0)
    except Exception:  # the collection is being created
        return None


@pytest.mark.slow
def test_ingest_killed_midway_then_rerun_equals_a_clean_run(corpus: Path, clean_run: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    data_dir = tmp_path / "killed"
    process = ingest_process(data_dir, corpus)
    deadline = time.monotonic() + 600
    while process.poll() is None and time.monotonic() < deadline:
        if committed_documents(data_dir):
            os.kill(process.pid, signal.SIGKILL)  # no chance to clean up: the worst case
            break
        time.sleep(0.05)
    assert process.wait(timeout=60) == -signal.SIGKILL, "the ingest ended before it could be killed mid-way"

    [killed] = snapshot(data_dir)
    assert 0 < len(killed["documents"]) < 200
    for doc_id, (_, chunk_count, _) in killed["documents"].items():  # what is visible is whole
        assert sum(1 for c in killed["chunks"].values() if c[0] == doc_id) == chunk_count

    out = finish(ingest_process(data_dir, corpus))
    assert f"({len(killed['documents'])} unchanged)" in out  # committed work is not redone
    [rerun] = snapshot(data_dir)
    assert_same_store(rerun, clean_run)


@pytest.mark.slow
def test_two_ingests_at_once_leave_a_consistent_store(corpus: Path, clean_run: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    data_dir = tmp_path / "racing"
    # Both write shared/; each also writes a folder of its own.
    first = ingest_process(data_dir, corpus / "a", corpus / "shared")
    second = ingest_process(data_dir, corpus / "b", corpus / "shared")
    finish(first), finish(second)
    [raced] = snapshot(data_dir)
    assert_same_store(raced, clean_run)


# Processes that open one new store at the same moment: each waits at a file barrier, then opens.
OPEN_SCRIPT = """
import sys, time
from pathlib import Path
from rag.config import load_settings
from rag.store import ChunkStore, open_client, opening_lock
root, me, count, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
for r in range(rounds):
    (root / f"ready-{r}-{me}").touch()
    while len(list(root.glob(f"ready-{r}-*"))) < count:
        time.sleep(0.0005)
    settings = load_settings(data_dir=root / f"store-{r}")
    store = ChunkStore(open_client(settings), settings.collection, None)
    assert store.count_chunks() == 0 and store.list_documents() == []
"""


def test_processes_opening_a_new_store_at_once_all_succeed(tmp_path: Path) -> None:
    """Chroma creates a new store's schema on first open; three processes do it together, ten times."""
    count, rounds = 3, 10
    processes = [subprocess.Popen([sys.executable, "-c", OPEN_SCRIPT, str(tmp_path), str(n), str(count), str(rounds)],
                                  cwd=PROJECT_ROOT, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for n in range(count)]
    for process in processes:
        finish(process, timeout_s=300)


def test_a_reader_finds_chunks_another_process_ingested_past_the_index_flush(tmp_path: Path, embeddings) -> None:  # type: ignore[no-untyped-def]
    """The chat keeps its vector index loaded while a CLI ingest adds more chunks than Chroma
    keeps in its log before flushing them into the index files (1,000); it must find them."""
    data_dir = tmp_path / "data"
    settings = make_settings(data_dir, chunk_size=100, chunk_overlap=20)
    reader = open_store(settings, embeddings)  # the chat's store, in this process
    Ingestor(reader, embeddings, settings).ingest_paths([write_corpus(tmp_path / "first", count=5)])
    assert reader.nearest(embeddings.embed_query("harbour repairs"), 3)  # its index is loaded now
    before = {c.id for c in reader.iter_chunks()}
    rng = random.Random(11)
    more = tmp_path / "more"
    for n in range(400):  # ~1,200 small chunks
        sentences = " ".join(f"Bulletin {n} line {m}: the {rng.choice(WORDS)} crew of ward {n} reported {rng.randint(1, 999)} "
                             "faults." for m in range(3))
        more.mkdir(exist_ok=True)
        (more / f"bulletin-{n:03d}.txt").write_text(f"Bulletin {n}\n\n{sentences}\n", encoding="utf-8")
    finish(ingest_process(data_dir, more))
    time.sleep(0.6)  # the reader re-reads the committed versions at most every 0.5 s
    new = sorted({c.id for c in reader.iter_chunks()} - before)
    assert len(new) > 1000
    sample = random.Random(3).sample(new, 40)
    vectors = reader.get_vectors(sample)
    found = [chunk_id for chunk_id in sample if chunk_id in {i for i, _, _ in reader.nearest(vectors[chunk_id], 3)}]
    assert len(found) == len(sample)
    assert [c.id for c, _ in reader.get_chunks(found)] == found


# ----- writers of one corpus on a Chroma server ------------------------------------------
def server_writer(url: str, collection: str, data_dir: Path, embeddings=None) -> tuple[Settings, ChunkStore]:  # type: ignore[no-untyped-def]
    """Settings and a store of their own (another client, as another host would have)."""
    settings = make_settings(data_dir, chroma_url=url, collection=collection)
    return settings, ChunkStore(open_client(settings), collection, embeddings)


def test_writers_of_one_server_corpus_take_turns(chroma_server: str, tmp_path: Path) -> None:
    collection = f"lease-{uuid.uuid4().hex[:8]}"
    settings, first = server_writer(chroma_server, collection, tmp_path / "one")
    _, second = server_writer(chroma_server, collection, tmp_path / "two")
    with writer_lock(settings, first):
        started = time.monotonic()
        with pytest.raises(StoreError, match=r"another writer \(.+\) has held collection"):
            with writer_lock(settings, second, timeout_s=1):
                pass
        assert time.monotonic() - started >= 1
    started = time.monotonic()
    with writer_lock(settings, second, timeout_s=5):  # released: the next writer gets it at once
        assert time.monotonic() - started < 1


def test_an_expired_lease_is_taken_over_and_its_old_holder_commits_nothing(chroma_server: str, tmp_path: Path) -> None:
    collection = f"lease-{uuid.uuid4().hex[:8]}"
    settings, first = server_writer(chroma_server, collection, tmp_path / "one")
    _, second = server_writer(chroma_server, collection, tmp_path / "two")
    server = open_client(settings)
    # A writer killed while holding the lease: nobody renews it.
    server.create_collection(f"{collection}-writer-lease", metadata={"holder": "gone:1:x", "expires_at": time.time() - 1})
    with writer_lock(settings, first, timeout_s=5):
        # ``first`` stalls past its expiry, and another writer takes the lease over as above.
        server.get_collection(f"{collection}-writer-lease").modify(metadata={"holder": "first", "expires_at": 0.0})
        with writer_lock(settings, second, timeout_s=5):
            with pytest.raises(StoreError, match="lost its lease"):
                first.commit_documents([(SourceDocument("doc", "Doc", "s", "Some text."), 0)])
    assert first.list_documents() == []


def test_two_writers_of_one_document_on_a_server_leave_it_whole(chroma_server: str, tmp_path: Path, embeddings) -> None:  # type: ignore[no-untyped-def]
    """Two hosts ingest two versions of one document at once; the last one commits whole."""
    collection = f"lease-{uuid.uuid4().hex[:8]}"
    text = " ".join(f"Notice {n} says the ferry of district {n} needs {n * 7} repairs." for n in range(60))
    versions = [text, text.replace("ferry", "bridge")]
    writers = [server_writer(chroma_server, collection, tmp_path / name, embeddings) for name in ("one", "two")]
    barrier = threading.Barrier(2)

    def write(n: int) -> None:
        settings, store = writers[n]
        ingestor = Ingestor(store, embeddings, settings.model_copy(update={"chunk_size": 100, "chunk_overlap": 20}))
        barrier.wait()
        ingestor.ingest_documents([SourceDocument("notices", "Notices", "s", versions[n])])

    threads = [threading.Thread(target=write, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    store = writers[0][1]
    assert [d.doc_id for d in store.list_documents()] == ["notices"]
    document, chunks = store.get_document("notices"), list(store.iter_chunks())
    assert document is not None and document.text in versions
    assert len(chunks) == document.chunk_count == store.count_chunks()  # whole, and nothing stray left
    assert all(document.text[c.start:c.end] == c.text for c in chunks)


# ----- bad input ---------------------------------------------------------------------------
def store_state(store: ChunkStore) -> tuple[dict, list, int]:  # type: ignore[type-arg]
    documents = {d.doc_id: (d.version, d.chunk_count) for d in store.list_documents()}
    chunks = sorted((c.id, c.doc_version, c.start, c.end) for c in store.iter_chunks())
    return documents, chunks, store.count_chunks()


def _loop(folder: Path) -> Path:
    link = folder / "loop.txt"
    link.symlink_to(link)
    return link


def _big(folder: Path) -> Path:
    path = folder / "huge.txt"
    with path.open("wb") as file:  # sparse: 50 MB on the size check, next to nothing on disk
        file.truncate(50 * 1024 * 1024 + 1)
    return path


def _write(name: str, data: bytes):  # type: ignore[no-untyped-def]
    def make_file(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data)
        return path
    return make_file


@pytest.mark.parametrize("make_input, code, message", [
    (_write("empty.txt", b""), 2, "the file holds no text"),
    (_write("garbage.pdf", bytes(random.Random(1).getrandbits(8) for _ in range(20000))), 2, "not a readable PDF"),
    (_write("locked.pdf", make.encrypted_pdf_bytes()), 2, "the PDF is encrypted with a password"),
    (_write("mojibake.txt", bytes(range(128, 256)) * 40), 2, "binary data, not text"),
    (_big, 2, "over the 50 MB limit"),
    (lambda folder: folder / "no-such-file.txt", 2, "no such file or folder"),
    (_loop, 2, "symbolic link loop"),
    (lambda folder: _loop(folder).parent, 2, "symbolic link loop"),  # the loop found inside a folder
    (_write("notes.xyz", b"some notes"), 2, "unsupported format '.xyz'"),
], ids=["empty", "garbage-pdf", "encrypted-pdf", "non-utf8-non-text", "50-mb", "missing", "symlink-loop",
        "symlink-loop-in-folder", "unsupported"])
def test_bad_input_gives_a_clear_message_and_leaves_the_store_unchanged(
        seed_settings, embeddings, tmp_path: Path, capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
        make_input, code: int, message: str) -> None:
    folder = tmp_path / "input"
    folder.mkdir()
    path = make_input(folder)
    store = open_store(seed_settings, embeddings)
    before = store_state(store)
    assert main(["ingest", str(path), *store_flags(seed_settings)]) == code
    err = capsys.readouterr().err
    assert message in err and str(path) in err
    assert store_state(store) == before


def test_a_bad_file_does_not_stop_the_batch(settings, embeddings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.txt").write_text("The lighthouse keeper retired in 1998 after forty years.")
    (folder / "locked.pdf").write_bytes(make.encrypted_pdf_bytes())
    (folder / "garbage.docx").write_bytes(b"not a zip")
    _loop(folder)
    report = Ingestor(open_store(settings, embeddings), embeddings, settings).ingest_paths([folder])
    assert report.documents == 1
    assert sorted((Path(f.path).name, f.reason.split(" ")[0]) for f in report.failed) == [
        ("garbage.docx", "not"), ("locked.pdf", "the"), ("loop.txt", "a")]


@pytest.mark.parametrize("name, data, expected", [
    ("latin.txt", ("Le maire de Besançon a déclaré que le café coûtera trois euros à partir de lundi. "
                   "Très cher, disent les habitants du quartier.").encode("cp1252"), "Besançon a déclaré"),
    ("windows.txt", "Die Fähre nach Kessel fährt täglich um acht Uhr.".encode("utf-16"), "Fähre nach Kessel fährt"),
], ids=["cp1252", "utf-16-with-bom"])
def test_non_utf8_text_is_decoded_not_lost(settings, embeddings, tmp_path: Path, name: str, data: bytes,  # type: ignore[no-untyped-def]
                                           expected: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    ingestor = Ingestor(open_store(settings, embeddings), embeddings, settings)
    assert ingestor.ingest_paths([path]).documents == 1
    [document] = ingestor.store.list_documents()
    stored = ingestor.store.get_document(document.doc_id)
    assert stored is not None and expected in (stored.text or "")
