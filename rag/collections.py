"""Collections: several corpora side by side in one store, each a Chroma collection (``--collection``,
``RAG_COLLECTION``), answered from by one ``Assistant`` each.

The assistants share the embedding model (loaded once per process) and the configured
generator, so choosing another corpus in the chat loads no model; each has its own store view,
keyword index and retriever, so a question never mixes two corpora.
"""

from __future__ import annotations

import re
import threading

from .assistant import Assistant
from .errors import InputError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,60}[A-Za-z0-9]$")


def check_name(name: str) -> str:
    """A collection name Chroma accepts (3-63 letters, digits, '.', '_', '-'); InputError otherwise."""
    if not _NAME.match(name or "") or ".." in name:
        raise InputError(f"'{name}' cannot name a collection: use 3 to 63 letters, digits, '.', '_' or '-', "
                         "starting and ending with a letter or digit")
    return name


class Collections:
    """The corpora of the configured store, and an assistant for each, built on first use."""

    def __init__(self, assistant: Assistant) -> None:
        self.default = assistant.settings.collection
        self._base = assistant
        self._assistants = {self.default: assistant}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        """Every corpus of the store (the configured one first)."""
        found = self._base.store.corpora()
        return [self.default] + [n for n in found if n != self.default]

    def get(self, name: str | None) -> Assistant:
        """The assistant of corpus ``name`` (the configured one when empty); InputError for an unknown one."""
        name = name or self.default
        ready = self._assistants.get(name)
        if ready is not None:
            return ready
        if name not in self.names():
            raise InputError(f"there is no collection '{name}'; choose one of {', '.join(self.names())} "
                             f"(add one with `rag ingest --collection {check_name(name)} PATH`)")
        with self._lock:
            if name not in self._assistants:
                base = self._base
                settings = base.settings.model_copy(update={"collection": name})
                self._assistants[name] = Assistant.from_settings(settings, generator=base.generator)
            return self._assistants[name]
