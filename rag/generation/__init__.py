"""Generation backends, chosen by name: ``llamacpp`` (local LLM), ``extractive``, ``openai``, and
``chat`` (any LangChain chat model named by ``RAG_CHAT_MODEL``)."""

from __future__ import annotations

from langchain_core.embeddings import Embeddings

from ..config import Settings
from ..errors import ConfigError
from .base import Generator, Passage, number_passages

__all__ = ["Generator", "Passage", "make_generator", "number_passages", "BACKENDS"]

BACKENDS = ("llamacpp", "extractive", "openai", "chat")


def make_generator(settings: Settings, embeddings: Embeddings) -> Generator:
    """The generator named by ``settings.generator``; optional SDKs are imported only here."""
    if settings.generator == "extractive":
        from .extractive import ExtractiveGenerator
        return ExtractiveGenerator(embeddings)
    if settings.generator == "llamacpp":
        from .llamacpp import make_llamacpp_generator
        return make_llamacpp_generator(settings, embeddings)
    if settings.generator == "openai":
        from .openai import make_openai_generator
        return make_openai_generator(settings, embeddings)
    if settings.generator == "chat":
        from .chat_models import make_chat_model_generator
        return make_chat_model_generator(settings, embeddings)
    raise ConfigError(f"unknown generator '{settings.generator}'; choose one of {', '.join(BACKENDS)}")
