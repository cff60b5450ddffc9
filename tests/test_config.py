"""Where data and the corpus live by default: a checkout keeps them beside the code, an install does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag import config
from rag.config import PACKAGE_DIR, PROJECT_ROOT, load_settings


def test_a_checkout_keeps_its_data_and_corpus_beside_the_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAG_DATA_DIR")
    assert config.is_checkout()  # the tests run from a clone
    settings = load_settings()
    assert settings.data_dir == PROJECT_ROOT / ".rag" and settings.corpus_dir == PROJECT_ROOT / "corpus"


def test_an_installed_package_uses_the_user_data_folder_and_its_shipped_article(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("RAG_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    monkeypatch.setattr(config, "is_checkout", lambda root=PROJECT_ROOT: False)
    settings = load_settings()
    assert settings.data_dir == tmp_path / "share" / "cited-rag"
    assert settings.corpus_dir == PACKAGE_DIR / "corpus"


def test_rag_data_dir_wins_over_either_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path / "mine"))
    monkeypatch.setattr(config, "is_checkout", lambda root=PROJECT_ROOT: False)
    assert load_settings().data_dir == tmp_path / "mine"


@pytest.mark.parametrize("marker, checkout", [("pyproject.toml", True), (".git", True), (None, False)])
def test_a_checkout_is_told_by_pyproject_or_git(tmp_path: Path, marker: str | None, checkout: bool) -> None:
    if marker:
        (tmp_path / marker).touch()
    assert config.is_checkout(tmp_path) is checkout
