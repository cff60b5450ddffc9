"""Shared fixtures: real components (packaged model, Chroma in temp dirs), nothing from the network."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Iterator

import pytest

os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False",
                  ANONYMIZED_TELEMETRY="False")

from rag.config import PROJECT_ROOT, Settings, load_settings  # noqa: E402
from rag.embedding import load_embeddings  # noqa: E402

from . import servers  # noqa: E402
from .servers import free_port  # noqa: E402,F401  (tests import it from here)

SEED_PATH = PROJECT_ROOT / "corpus" / "russia-sends-aid-to-cuba-regime.txt"
SEED_ID = "russia-sends-aid-to-cuba-regime"


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the user's data dir, or picks up their RAG_* settings."""
    for key in list(os.environ):
        if key.startswith("RAG_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path / "data"))
    # The default backend is the local LLM (seconds an answer); tests that need it ask for it.
    monkeypatch.setenv("RAG_GENERATOR", "extractive")
    # The assembled LLM is large: share the project's cached copy instead of rebuilding it.
    monkeypatch.setenv("RAG_LLM_MODEL_PATH", str(default_llm_path()))


def default_llm_path() -> Path:
    return PROJECT_ROOT / ".rag" / "cache" / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"


@pytest.fixture(scope="session")
def embeddings():  # type: ignore[no-untyped-def]
    """The packaged all-MiniLM-L6-v2, loaded once for the whole run."""
    return load_embeddings()


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings on a private data dir with the extractive backend unless told otherwise."""
    overrides.setdefault("generator", "extractive")
    return load_settings(data_dir=data_dir, **overrides)


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Chroma server (``chroma run`` from the pip package) on loopback, for the run."""
    with servers.chroma_server(tmp_path_factory.mktemp("chroma-server")) as url:
        yield url


@pytest.fixture(params=["embedded", "server"])
def store_mode(request: pytest.FixtureRequest) -> str:
    """Runs a test once against the embedded store and once against a Chroma server."""
    return str(request.param)


def store_overrides(store_mode: str, request: pytest.FixtureRequest) -> dict[str, object]:
    """Settings that point at the chosen store; each server test gets its own collection."""
    if store_mode == "embedded":
        return {}
    return {"chroma_url": request.getfixturevalue("chroma_server"), "collection": f"test-{uuid.uuid4().hex[:12]}"}


def store_flags(settings: Settings) -> list[str]:
    """The CLI flags that select the same store as ``settings``."""
    flags = ["--data-dir", str(settings.data_dir), "--collection", settings.collection]
    return flags + (["--chroma-url", settings.chroma_url] if settings.chroma_url else [])


@pytest.fixture
def settings(tmp_path: Path, store_mode: str, request: pytest.FixtureRequest) -> Settings:
    return make_settings(tmp_path / "data", **store_overrides(store_mode, request))


@pytest.fixture(scope="session")
def seed_data_dir(tmp_path_factory: pytest.TempPathFactory, embeddings) -> Path:  # type: ignore[no-untyped-def]
    """An embedded store holding the shipped corpus, built once per run; tests copy it before writing."""
    data_dir = tmp_path_factory.mktemp("seed-store")
    ingest_corpus(make_settings(data_dir), embeddings)
    return data_dir


def ingest_corpus(settings: Settings, embeddings) -> None:  # type: ignore[no-untyped-def]
    from rag.ingestion import Ingestor
    from rag.wiring import open_store

    Ingestor(open_store(settings, embeddings), embeddings, settings).ingest_paths([PROJECT_ROOT / "corpus"])


@pytest.fixture
def seed_settings(tmp_path: Path, store_mode: str, request: pytest.FixtureRequest, embeddings) -> Settings:  # type: ignore[no-untyped-def]
    """Settings on a private store holding the shipped corpus (a copy, or a fresh server collection)."""
    if store_mode == "embedded":
        copy = tmp_path / "seed-copy"
        shutil.copytree(request.getfixturevalue("seed_data_dir"), copy)
        return make_settings(copy)
    settings = make_settings(tmp_path / "seed-server", **store_overrides(store_mode, request))
    ingest_corpus(settings, embeddings)
    return settings


@pytest.fixture
def seed_assistant(seed_settings: Settings):  # type: ignore[no-untyped-def]
    from rag.assistant import Assistant
    return Assistant.from_settings(seed_settings)


def seed_text() -> str:
    """The shipped article's document text, as the loader produces it."""
    from rag.loading import load_file
    return load_file(SEED_PATH)[0].text


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "docs"
    folder.mkdir()
    yield folder
