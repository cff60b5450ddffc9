from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.embedding import CachedEmbeddings, load_embeddings, resolve_model_path
from rag.errors import ModelError

TEXTS = ["Russia dispatched nearly 100 tons of humanitarian aid to Cuba.", "Bushfires burned near Sydney.", "ok"]


def test_packaged_model_loads_offline(embeddings) -> None:  # type: ignore[no-untyped-def]
    assert Path(resolve_model_path("all-MiniLM-L6-v2"), "model.safetensors").exists()
    vectors = np.asarray(embeddings.embed_documents(TEXTS))
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_int8_model_matches_the_torch_model(embeddings) -> None:  # type: ignore[no-untyped-def]
    int8 = load_embeddings("all-MiniLM-L6-v2-int8")
    a, b = np.asarray(embeddings.embed_documents(TEXTS)), np.asarray(int8.embed_documents(TEXTS))
    assert (a * b).sum(axis=1).min() > 0.995
    assert np.dot(embeddings.embed_query(TEXTS[0]), int8.embed_query(TEXTS[0])) > 0.995


def test_cache_returns_the_same_vectors_and_skips_the_model(embeddings) -> None:  # type: ignore[no-untyped-def]
    calls = []

    class Counting:
        def embed_documents(self, texts):  # type: ignore[no-untyped-def]
            calls.append(list(texts))
            return embeddings.inner.embed_documents(texts)

    cached = CachedEmbeddings(Counting(), capacity=10)  # type: ignore[arg-type]
    first = cached.embed_documents(TEXTS)
    again = cached.embed_documents(list(reversed(TEXTS)))
    assert calls == [TEXTS] and again == list(reversed(first))


def test_a_broken_model_folder_is_reported_with_a_fix(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "modules.json").write_text("not json")
    with pytest.raises(ModelError, match="cannot load embedding model"):
        load_embeddings(str(folder))
