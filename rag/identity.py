"""Who owns a document id: the file (or URL) that first stored it.

A document id is how the store tells documents apart, and an id can come from a file's own front
matter. So a file may replace the document with its id only when it is the same file (the same
path, or for a page the same URL), edited or not. Another file claiming the id is refused, unless
the file that stored it is gone (the corpus folder was moved): then the new one takes over.
"""

from __future__ import annotations

import os
from pathlib import PurePath
from typing import Mapping

from .store import StoredDocument
from .types import Scalar, SourceDocument


def owner(metadata: Mapping[str, Scalar], source: str) -> str:
    """What a document was loaded from: its file's path, else its URL, else its source."""
    return str(metadata.get("path") or metadata.get("url") or source)


def taken_by(stored: StoredDocument, document: SourceDocument) -> str | None:
    """The name of the file or URL that owns ``document``'s id when it is not ``document``'s own,
    or None when ``document`` may replace ``stored``."""
    old, new = owner(stored.metadata, stored.source), owner(document.metadata, document.source)
    if old == new:
        return None
    old_path = stored.metadata.get("path")
    if old_path and not os.path.lexists(str(old_path)):
        return None  # the file that stored it is gone: it moved, or was deleted
    return PurePath(str(old_path)).name if old_path else old  # a file by its name: no server paths shown
