"""Loading: files, folders and URLs in, cleaned ``SourceDocument``s out, one loader per format.

A loader takes the path and its bytes and returns documents (an e-mail yields one per
attachment too). It raises ``LoadError`` for a file it cannot read; callers report that file
and go on with the rest of the batch.

    format                          module        library
    .txt .md                        text          PyYAML (front matter)
    .html .htm                      html_page     trafilatura
    .pdf (text layer or scanned)    pdf           pypdf, then Tesseract OCR for image-only pages
    .docx                           word          python-docx
    .xlsx .csv                      tables        openpyxl, csv
    .eml                            mail          email (standard library)
    .png .jpg .jpeg .tif .tiff      image         Pillow + Tesseract OCR (pytesseract)
    http(s):// URLs                 web           httpx, then the loader for the content type
"""

from __future__ import annotations

import errno
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

from ..errors import InputError, LoadError
from ..types import SourceDocument
from .html_page import load_html_file
from .image import load_image
from .mail import load_email
from .pdf import load_pdf
from .tables import load_csv, load_xlsx
from .text import load_text_file
from .web import is_url, load_url
from .word import load_docx

log = logging.getLogger(__name__)

Loader = Callable[[Path, bytes], list[SourceDocument]]

LOADERS: dict[str, Loader] = {
    ".txt": load_text_file,
    ".text": load_text_file,
    ".md": load_text_file,
    ".markdown": load_text_file,
    ".html": load_html_file,
    ".htm": load_html_file,
    ".pdf": load_pdf,
    ".docx": load_docx,
    ".xlsx": load_xlsx,
    ".csv": load_csv,
    ".eml": load_email,
    ".png": load_image,
    ".jpg": load_image,
    ".jpeg": load_image,
    ".tif": load_image,
    ".tiff": load_image,
}

MAX_FILE_BYTES = 50 * 1024 * 1024
# "scheme://...": meant as a URL, not as a file name.
_URL_LIKE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def supported_suffixes() -> list[str]:
    """File name endings that ingestion accepts."""
    return sorted(LOADERS)


@dataclass
class Discovery:
    """The files and URLs found in some paths, and the paths that could not be used."""

    files: list[Path] = field(default_factory=list)
    skipped: list[LoadError] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)


def discover(paths: Sequence[Path | str]) -> Discovery:
    """Expand files and folders into supported files, keep http(s) URLs; report what is unsupported.

    A path that does not exist is an InputError: a typo on the command line stops the batch
    before anything is written.
    """
    found = Discovery()
    seen: set[Path | str] = set()
    for item in paths:
        if isinstance(item, str) and is_url(item):
            if item not in seen:
                seen.add(item)
                found.urls.append(item)
            continue
        if isinstance(item, str) and _URL_LIKE.match(item):
            raise InputError(f"{item}: only http:// and https:// URLs (with a host) can be ingested")
        path = Path(item)
        if not path.exists():
            raise InputError(f"{path}: {_why_missing(path)}")
        candidates: Iterator[Path] = _walk(path) if path.is_dir() else iter([path])
        for file in candidates:
            try:
                resolved = file.resolve(strict=True)
            except (OSError, RuntimeError):  # RuntimeError: a symlink loop, before Python 3.13
                found.skipped.append(LoadError(str(file), _why_missing(file)))
                continue
            if resolved in seen:
                continue
            seen.add(resolved)
            if file.suffix.lower() in LOADERS:
                found.files.append(file)
            else:
                found.skipped.append(LoadError(str(file), f"unsupported format '{file.suffix or '(none)'}'; "
                                                         f"supported: {', '.join(supported_suffixes())}"))
    return found


def _why_missing(path: Path) -> str:
    """Why a path cannot be opened, in words: missing, a broken link, or a link loop."""
    try:
        os.stat(path)
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "a symbolic link loop (the link points back to itself); fix or delete the link"
        if path.is_symlink():
            return f"a broken symbolic link (to '{os.readlink(path)}')"
        return "no such file or folder"
    return "cannot be opened"


def _walk(folder: Path) -> Iterator[Path]:
    # followlinks=False: a symlink loop cannot make the walk endless.
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(root) / name


def load_source(source: Path | str, max_bytes: int = MAX_FILE_BYTES,
                allow_loopback_urls: bool = False) -> list[SourceDocument]:
    """Load a file, or fetch and load an http(s) URL (on loopback only when allowed)."""
    if not (isinstance(source, str) and is_url(source)):
        return load_file(Path(source), max_bytes)
    try:
        return load_url(source, max_bytes, allow_loopback=allow_loopback_urls)
    except LoadError:
        raise
    except Exception as error:  # a parser library failing on what the server sent
        log.debug("loading %s failed", source, exc_info=True)
        raise LoadError(source, f"cannot parse what the server sent: {type(error).__name__}: {error}") from error


def load_file(path: Path, max_bytes: int = MAX_FILE_BYTES) -> list[SourceDocument]:
    """Load one file with the loader for its suffix."""
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise LoadError(str(path), f"unsupported format '{path.suffix or '(none)'}'")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise LoadError(str(path), f"file is {size / 2**20:.1f} MB, over the {max_bytes / 2**20:.0f} MB limit; "
                                       "split it into smaller files")
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
