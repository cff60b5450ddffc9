"""Any OpenAI-compatible server (Ollama, vLLM, LM Studio, llama.cpp's server, OpenAI)."""

from __future__ import annotations

from langchain_core.embeddings import Embeddings

from ..config import Settings
from ..errors import ConfigError
from .chat import ChatModelGenerator


def make_openai_generator(settings: Settings, embeddings: Embeddings) -> ChatModelGenerator:
    """A generator that streams from ``settings.openai_base_url`` with ``settings.openai_model``."""
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as error:
        raise ConfigError("the openai backend needs langchain-openai: .venv/bin/pip install langchain-openai") from error
    if not settings.openai_base_url.startswith(("http://", "https://")):
        raise ConfigError(f"RAG_OPENAI_BASE_URL must be an http(s) URL, got '{settings.openai_base_url}'")
    model = ChatOpenAI(base_url=settings.openai_base_url, model=settings.openai_model,
                       # Local servers ignore the key but the client insists on one.
                       api_key=settings.openai_api_key.get_secret_value() or "not-needed",
                       temperature=0.0, max_tokens=settings.llm_max_tokens, timeout=settings.openai_timeout_s,
                       max_retries=1, streaming=True)
    return ChatModelGenerator(model, name="openai", embeddings=embeddings, context_sentences=settings.context_sentences)
