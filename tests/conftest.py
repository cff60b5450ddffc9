"""Shared fixtures: real components (packaged model, Chroma in temp dirs), nothing from the network."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Iterator

import pytest

os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False",
                  ANONYMIZED_TELEMETRY="False")

from rag.config import PROJECT_ROOT, Settings, load_settings  # noqa: E402
from rag.embedding import load_embeddings  # noqa: E402

SEED_PATH = PROJECT_ROOT / "corpus" / "russia-sends-aid-to-cuba-regime.txt"
SEED_ID = "russia-sends-aid-to-cuba-regime"


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the user's data dir, or picks up their RAG_* settings."""
    for key in list(os.environ):
        if key.startswith("RAG_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path / "data"))
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


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture(scope="session")
def seed_data_dir(tmp_path_factory: pytest.TempPathFactory, embeddings) -> Path:  # type: ignore[no-untyped-def]
    """A store holding the shipped corpus, built once per run; tests copy it before writing."""
    from rag.assistant import open_store
    from rag.ingestion import Ingestor

    data_dir = tmp_path_factory.mktemp("seed-store")
    settings = make_settings(data_dir)
    Ingestor(open_store(settings, embeddings), embeddings, settings).ingest_paths([PROJECT_ROOT / "corpus"])
    return data_dir


@pytest.fixture
def seed_settings(seed_data_dir: Path, tmp_path: Path) -> Settings:
    """Settings on a private copy of the seed store."""
    copy = tmp_path / "seed-copy"
    shutil.copytree(seed_data_dir, copy)
    return make_settings(copy)


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
