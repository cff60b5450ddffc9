"""All settings in one place: defaults, overridden by ``RAG_*`` environment variables, then flags.

The settings object is built once at an entry point and passed down explicitly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import ConfigError

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
DISTRIBUTION = "cited-rag"   # the name on PyPI and of the user data folder; the import package is `rag`


def is_checkout(root: Path = PROJECT_ROOT) -> bool:
    """True when the code runs from a clone of the project, not from an installed package."""
    return (root / "pyproject.toml").is_file() or (root / ".git").exists()


def default_data_dir() -> Path:
    """``.rag/`` in a checkout; the user's data folder (e.g. ~/.local/share/cited-rag) when installed."""
    if is_checkout():
        return PROJECT_ROOT / ".rag"
    from platformdirs import user_data_path
    return user_data_path(DISTRIBUTION, appauthor=False)


def default_corpus_dir() -> Path:
    """``corpus/`` in a checkout; the seed article shipped inside the package when installed."""
    return PROJECT_ROOT / "corpus" if is_checkout() else PACKAGE_DIR / "corpus"


RetrieverName = Literal["hybrid", "dense", "bm25"]
GeneratorName = Literal["llamacpp", "extractive", "openai", "chat"]
DeclineReason = Literal["generator", "verification", "answer type"]


class Settings(BaseSettings):
    """Every knob of the assistant; each field can be set as ``RAG_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="RAG_", frozen=True, extra="forbid")

    # Where things live
    data_dir: Path = Field(default_factory=default_data_dir, description="Store, caches and model files "
                           "(default: .rag/ in a checkout, the user's data folder when installed).")
    corpus_dir: Path = Field(default_factory=default_corpus_dir, description="Corpus the chat builds on first run "
                             "(default: corpus/ in a checkout, the shipped seed article when installed).")
    collection: str = Field("corpus", description="Chroma collection name.")
    chroma_url: str | None = Field(None, description="Chroma server URL; unset = embedded store in data_dir.")

    # Embedding
    embedding_model: str = Field("all-MiniLM-L6-v2", description="Packaged model name, a local folder, or a hub name (needs network).")
    # Small batches pad less and keep activations in cache: with ingest's 256-chunk calls, batches
    # of 4-32 all encode ~1.35-1.47x faster than the old 64 (benchmarks/results/encode-batching.json).
    embedding_batch_size: int = Field(16, ge=1, le=4096, description="Texts per encoder batch.")

    # Chunking (characters)
    chunk_size: int = Field(600, ge=100, le=20000)
    chunk_overlap: int = Field(100, ge=0)

    # Retrieval
    retriever: RetrieverName = "hybrid"
    top_k: int = Field(5, ge=1, le=50, description="Passages shown to the generator.")
    candidates: int = Field(30, ge=1, le=500, description="Candidates per retriever before fusion.")
    fusion: Literal["rrf", "relative"] = Field("relative", description="How hybrid search merges dense and BM25 results.")
    dense_weight: float = Field(0.5, ge=0.0, le=1.0, description="Weight of dense search in the fusion (BM25 gets the rest).")
    reranker: str = Field("none", description="none, mpnet, cross-encoder:PATH or bi-encoder:PATH.")
    rerank_candidates: int = Field(20, ge=2, le=200, description="Fused candidates the reranker re-scores.")
    min_relevance: float = Field(0.35, ge=-1.0, le=1.0, description="Decline when no retrieved sentence is this similar to the question.")

    # Generation
    generator: GeneratorName = Field("llamacpp", description="Answer backend: llamacpp (local LLM), extractive, openai, "
                                     "or chat (RAG_CHAT_MODEL; the default when that is set).")
    llm_model_path: Path | None = Field(None, description="GGUF file; unset = the packaged default model.")
    llm_threads: int = Field(2, ge=1, le=256)
    llm_context: int = Field(4096, ge=512, le=131072)
    llm_max_tokens: int = Field(200, ge=16, le=4096)
    fallback: Literal["extractive", "none"] = Field("extractive", description="Backend that answers from the same "
                                                    "passages when the main one's answer is declined.")
    fallback_on: tuple[DeclineReason, ...] = Field(("generator", "verification"), description="Which declines of the "
                                                   "main backend the fallback may overturn (JSON list): generator, "
                                                   "verification, answer type.")
    grade_fallback: bool = Field(True, description="Keep only the fallback's sentences that the LLM reads as "
                                 "answering the question (decline when none does).")
    quick_answer: bool = Field(True, description="While a slow backend (the local LLM) writes, show the extractive "
                               "backend's verified quotes at once; the LLM's answer replaces them.")
    question_parts: bool = Field(True, description="Find the parts of a question of several parts ('what and why'), "
                                 "give each its own evidence, and name a part the documents do not answer.")
    context_sentences: int = Field(12, ge=0, le=200, description="Sentences of the passages, the most relevant to "
                                   "the question, that an LLM reads (0 = the whole passages).")
    chat_model: str = Field("", description="Any LangChain chat model as provider:model, e.g. ollama:qwen3:4b or "
                            "openai:gpt-4.1-mini (the provider's package and environment variables).")
    openai_base_url: str = "http://127.0.0.1:8000/v1"
    openai_model: str = "default"
    openai_api_key: SecretStr = SecretStr("")
    openai_timeout_s: float = Field(120.0, gt=0)

    # Ingestion
    allow_loopback_urls: bool = Field(False, description="Let `ingest URL` fetch pages served on this machine "
                                      "(127.0.0.1); private and link-local addresses are always refused.")

    # Chat server
    host: str = "127.0.0.1"
    port: int = Field(7860, ge=1, le=65535)
    auth_user: str | None = None
    auth_password: SecretStr | None = None
    max_upload_mb: int = Field(50, ge=1, le=2048)
    allowed_hosts: str = Field("", description="More host names the chat answers to (comma-separated), e.g. a "
                               "reverse proxy's; 127.0.0.1, localhost, [::1] and RAG_HOST always are.")

    @model_validator(mode="before")
    @classmethod
    def _chat_model_answers(cls, data: Any) -> Any:
        # RAG_CHAT_MODEL alone is enough to answer with that model; an explicit generator wins.
        if isinstance(data, dict) and data.get("chat_model") and not data.get("generator"):
            data = {**data, "generator": "chat"}
        return data

    @model_validator(mode="after")
    def _check_consistency(self) -> "Settings":
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(f"chunk_overlap ({self.chunk_overlap}) must be less than chunk_size ({self.chunk_size})")
        return self

    @property
    def store_dir(self) -> Path:
        """Folder of the embedded Chroma store."""
        return self.data_dir / "chroma"

    @property
    def cache_dir(self) -> Path:
        """Folder of derived, rebuildable state (keyword index, assembled models)."""
        return self.data_dir / "cache"


def load_settings(**overrides: Any) -> Settings:
    """Build settings from defaults, the environment and ``overrides`` (flags); None means unset."""
    given = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in error.errors())
        raise ConfigError(f"invalid settings: {problems} (check RAG_* variables and flags)") from error
