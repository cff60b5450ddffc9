"""The installed package: a wheel built from the source, installed into a fresh venv, used as `rag`.

The fresh venv gets no downloads: the wheel goes in with ``--no-deps --no-index`` and the heavy
dependencies (torch, chromadb, gradio …) resolve from this venv's site-packages through a .pth file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from rag.config import PROJECT_ROOT

# What a build needs from a checkout; the copy keeps stale build/ folders out of the wheel.
BUILD_INPUTS = ["pyproject.toml", "README.md", "requirements.txt", "requirements-reranker.txt", "rag", "corpus"]


def build_wheel(out: Path) -> Path:
    source = out / "source"
    source.mkdir()
    for name in BUILD_INPUTS:
        if (PROJECT_ROOT / name).is_dir():
            shutil.copytree(PROJECT_ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(PROJECT_ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "-w", str(out), str(source)], check=True, capture_output=True, text=True)
    [wheel] = out.glob("cited_rag-*.whl")
    return wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``bin`` folder of a fresh venv with only the wheel installed in it."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                    "--no-index", str(wheel)], check=True, capture_output=True, text=True)
    own = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         check=True, capture_output=True, text=True).stdout.strip()
    shared = sysconfig.get_paths()["purelib"]
    Path(own, "shared-venv.pth").write_text(f"import site; site.addsitedir({shared!r})\n")
    return venv / "bin"


def test_the_wheel_holds_the_rag_package_its_assets_and_the_seed_article_only(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    top = {name.split("/")[0] for name in names if not name.startswith("cited_rag-")}
    assert top == {"rag"}
    sources = {p.relative_to(PROJECT_ROOT).as_posix() for p in (PROJECT_ROOT / "rag").rglob("*.py")}
    assert sources <= names, f"missing from the wheel (add the package to pyproject.toml): {sorted(sources - names)}"
    assets = {f"rag/ui/assets/{p.name}" for p in (PROJECT_ROOT / "rag" / "ui" / "assets").iterdir()}
    assert assets <= names and "rag/corpus/russia-sends-aid-to-cuba-regime.txt" in names
    metadata = zipfile.ZipFile(wheel).read(f"{wheel.name.split('-')[0]}-0.1.0.dist-info/METADATA").decode()
    assert "Name: cited-rag" in metadata and "Requires-Dist: torch==2.13.0" in metadata
    assert "Requires-Dist: platformdirs==" in metadata and "Requires-Dist: python-dateutil==" in metadata
    entry_points = zipfile.ZipFile(wheel).read("cited_rag-0.1.0.dist-info/entry_points.txt").decode()
    assert "rag = rag.cli:main" in entry_points


@pytest.mark.slow
def test_the_installed_rag_command_ingests_answers_and_serves(installed: Path, tmp_path: Path) -> None:
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    (workdir / "lighthouse.md").write_text(
        "---\ntitle: Brightwater lighthouse\ndate: March 3, 2021\n---\n"
        "The Brightwater lighthouse was built in 1871 by the harbour board. Its lamp burned whale oil until 1902.\n",
        encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_DATA_DIR=str(tmp_path / "data"), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")

    def rag(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(installed / "rag"), *args], cwd=workdir, env=env, capture_output=True, text=True,
                              timeout=120)

    done = rag("ingest", "lighthouse.md")
    assert done.returncode == 0, done.stderr
    assert "1 document" in done.stdout
    done = rag("ask", "--json", "When was the Brightwater lighthouse built?", "--backend", "extractive")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert "1871" in answer["answer"] and answer["citations"]
    assert answer["citations"][0]["source"] == (workdir / "lighthouse.md").resolve().as_uri()
    assert (tmp_path / "data" / "chroma").is_dir()  # RAG_DATA_DIR, not a folder beside the installed code
    done = rag("chat", "--help")
    assert done.returncode == 0 and done.stdout.startswith("usage: rag chat")
    assert all(flag in done.stdout for flag in ("--host", "--port", "--corpus-dir", "--backend", "--data-dir"))
