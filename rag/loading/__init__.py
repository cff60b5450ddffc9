"""Loading: files and folders in, cleaned ``SourceDocument``s out, one loader per format.

A loader takes the path and its bytes and returns documents (an e-mail yields one per
attachment too). It raises ``LoadError`` for a file it cannot read; callers report that file
and go on with the rest of the batch.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from ..errors import InputError, LoadError
from ..types import SourceDocument
from .text import load_text_file

log = logging.getLogger(__name__)

Loader = Callable[[Path, bytes], list[SourceDocument]]

LOADERS: dict[str, Loader] = {
    ".txt": load_text_file,
    ".text": load_text_file,
    ".md": load_text_file,
    ".markdown": load_text_file,
}

MAX_FILE_BYTES = 50 * 1024 * 1024


def supported_suffixes() -> list[str]:
    """File name endings that ingestion accepts."""
    return sorted(LOADERS)


@dataclass
class Discovery:
    """The files found under some paths, and the paths that could not be used."""

    files: list[Path] = field(default_factory=list)
    skipped: list[LoadError] = field(default_factory=list)


def discover(paths: list[Path]) -> Discovery:
    """Expand files and folders into supported files; report what is missing or unsupported."""
    found = Discovery()
    seen: set[Path] = set()
    for path in paths:
        if not path.exists():
            raise InputError(f"{path}: no such file or folder")
        if path.is_dir():
            candidates: Iterator[Path] = _walk(path)
        else:
            candidates = iter([path])
        for file in candidates:
            resolved = file.resolve()
            if resolved in seen:
                continue
            seen.add(resolved)
            if file.suffix.lower() in LOADERS:
                found.files.append(file)
            else:
                found.skipped.append(LoadError(str(file), f"unsupported format '{file.suffix or '(none)'}'; "
                                                         f"supported: {', '.join(supported_suffixes())}"))
    return found


def _walk(folder: Path) -> Iterator[Path]:
    # followlinks=False: a symlink loop cannot make the walk endless.
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(root) / name


def load_file(path: Path, max_bytes: int = MAX_FILE_BYTES) -> list[SourceDocument]:
    """Load one file with the loader for its suffix."""
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise LoadError(str(path), f"unsupported format '{path.suffix or '(none)'}'")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise LoadError(str(path), f"file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit")
        data = path.read_bytes()
    except OSError as error:
        raise LoadError(str(path), f"cannot read: {error.strerror or error}") from error
    try:
        return loader(path, data)
    except LoadError:
        raise
    except Exception as error:  # a parser library failing on a corrupt file
        log.debug("loader for %s failed", path, exc_info=True)
        raise LoadError(str(path), f"cannot parse as {path.suffix}: {type(error).__name__}: {error}") from error
