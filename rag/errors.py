"""The project's exceptions: one tree, so the edges can catch one class.

    RagError
    ├── ConfigError        a setting is missing or invalid
    ├── InputError         a question, path or file that we cannot use
    │   └── LoadError      one document could not be loaded (format, corruption, encryption)
    ├── StoreError         the vector store is missing, corrupt or unreachable
    ├── ModelError         an embedding or generation model is missing, corrupt or failed
    └── GenerationError    a generation backend failed while answering

The library raises these; only the CLI and the chat turn them into exit codes or messages.
Every message says what went wrong and what to do about it.
"""

from __future__ import annotations


class RagError(Exception):
    """Base class of every error this project raises on purpose."""


class ConfigError(RagError):
    """A setting is missing or has a value we cannot use."""


class InputError(RagError):
    """A user-supplied question, path or file cannot be used."""


class LoadError(InputError):
    """One document could not be loaded; the rest of a batch goes on."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class StoreError(RagError):
    """The vector store is missing, corrupt, locked or unreachable."""


class ModelError(RagError):
    """A model file is missing or corrupt, or the model failed to load."""


class GenerationError(RagError):
    """A generation backend failed while writing an answer."""
