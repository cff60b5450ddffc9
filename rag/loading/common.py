"""Helpers shared by the format loaders."""

from __future__ import annotations

import re
from pathlib import Path

from ..types import content_hash


def slugify(text: str, max_length: int = 60) -> str:
    """Lower-case ASCII words joined by dashes, for readable ids."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:max_length].strip("-") or "document"


def default_doc_id(path: Path) -> str:
    """A readable id that is stable for one file and distinct for two files of the same name."""
    return f"{slugify(path.stem)}-{content_hash(str(path.resolve()), length=8)}"


def file_source(path: Path) -> str:
    """A clickable source for a local file."""
    return path.resolve().as_uri()
