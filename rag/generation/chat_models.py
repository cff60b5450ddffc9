"""Any LangChain chat model, named as ``provider:model`` (``RAG_CHAT_MODEL``), as in ``init_chat_model``.

``ollama:qwen3:4b`` and ``openai:gpt-4.1-mini`` name a provider and its model (the model name may
itself hold colons). The provider's package is imported only when named; a missing one is a
ConfigError with the command that installs it. Credentials and server addresses come from the
provider's own environment variables (``OPENAI_API_KEY``, ``OPENAI_BASE_URL``, ``OLLAMA_HOST``…).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel

from ..config import Settings
from ..errors import ConfigError
from .chat import ChatModelGenerator


@dataclass(frozen=True)
class Provider:
    """Where a provider's chat model class lives, and what its answer length is called."""

    module: str
    cls: str
    package: str
    max_tokens: str = "max_tokens"
    extra: dict[str, Any] = field(default_factory=dict)


PROVIDERS = {
    "openai": Provider("langchain_openai", "ChatOpenAI", "langchain-openai"),
    "azure_openai": Provider("langchain_openai", "AzureChatOpenAI", "langchain-openai"),
    "ollama": Provider("langchain_ollama", "ChatOllama", "langchain-ollama", max_tokens="num_predict"),
    "anthropic": Provider("langchain_anthropic", "ChatAnthropic", "langchain-anthropic"),
    "google_genai": Provider("langchain_google_genai", "ChatGoogleGenerativeAI", "langchain-google-genai",
                             max_tokens="max_output_tokens"),
    "mistralai": Provider("langchain_mistralai", "ChatMistralAI", "langchain-mistralai"),
    "groq": Provider("langchain_groq", "ChatGroq", "langchain-groq"),
    "huggingface": Provider("langchain_huggingface", "ChatHuggingFace", "langchain-huggingface"),
}


def parse_model_name(spec: str) -> tuple[str, str]:
    """(provider, model) from ``provider:model``; ConfigError for anything else."""
    provider, _, model = spec.strip().partition(":")
    provider = provider.strip().lower().replace("-", "_")
    if not provider or not model.strip():
        raise ConfigError(f"RAG_CHAT_MODEL must be provider:model, e.g. ollama:qwen3:4b or openai:gpt-4.1-mini; "
                          f"got '{spec}'")
    if provider not in PROVIDERS:
        raise ConfigError(f"unknown chat model provider '{provider}' in RAG_CHAT_MODEL; choose one of "
                          f"{', '.join(sorted(PROVIDERS))}")
    return provider, model.strip()


def load_chat_model(spec: str, max_tokens: int, timeout_s: float) -> BaseChatModel:
    """The chat model named by ``spec`` (``provider:model``), greedy and with bounded answers."""
    provider_name, model = parse_model_name(spec)
    provider = PROVIDERS[provider_name]
    try:
        module = importlib.import_module(provider.module)
    except ImportError as error:
        raise ConfigError(f"RAG_CHAT_MODEL '{spec}' needs the {provider.package} package: "
                          f".venv/bin/pip install {provider.package}") from error
    options: dict[str, Any] = {"model": model, "temperature": 0.0, provider.max_tokens: max_tokens, **provider.extra}
    if provider_name in ("openai", "azure_openai", "anthropic", "mistralai", "groq"):
        options["timeout"] = timeout_s
    try:
        return getattr(module, provider.cls)(**options)
    except Exception as error:  # a missing key or bad option, reported by the provider's own check
        raise ConfigError(f"RAG_CHAT_MODEL '{spec}': {provider.cls} could not be built: {error}") from error


def make_chat_model_generator(settings: Settings, embeddings: Embeddings) -> ChatModelGenerator:
    """A generator that answers with ``settings.chat_model``."""
    if not settings.chat_model:
        raise ConfigError("the chat backend needs RAG_CHAT_MODEL, e.g. ollama:qwen3:4b or openai:gpt-4.1-mini")
    model = load_chat_model(settings.chat_model, settings.llm_max_tokens, settings.openai_timeout_s)
    return ChatModelGenerator(model, name="chat", embeddings=embeddings, context_sentences=settings.context_sentences)
