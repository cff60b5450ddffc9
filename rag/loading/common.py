"""Helpers shared by the format loaders."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime, time
from pathlib import Path
from typing import Sequence
from urllib.parse import urlsplit

from openpyxl.utils import get_column_letter

from ..errors import LoadError
from ..types import content_hash
from .cleaning import clean_text

# A .docx or .xlsx is a zip: what it unpacks to is bounded before any parser opens it.
MAX_ZIP_ENTRIES = 10_000
MAX_ZIP_BYTES = 512 * 2**20

# Between two pages of a document: a paragraph break, so no sentence runs across pages.
PAGE_BREAK = "\n\n"


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


def url_doc_id(url: str) -> str:
    """A readable id that is stable for one URL and distinct for two URLs of the same page name."""
    parts = urlsplit(url)
    return f"{slugify(parts.netloc + parts.path)}-{content_hash(url, length=8)}"


def join_pages(pages: Sequence[str]) -> tuple[str, tuple[int, ...]]:
    """Clean each page and join them with a blank line; returns the text and each page's start.

    Pages are cleaned one by one, never the joined text, so no cleaning step can move a page
    boundary and every citation keeps its page number. An empty page still gets its start.
    """
    text, starts = "", []
    for page in pages:
        if starts:
            text += PAGE_BREAK
        starts.append(len(text))
        text += clean_text(page)
    return text, tuple(starts)


def iso_date(value: object) -> str | None:
    """A date as ISO ``YYYY-MM-DD`` (the form date filters compare), or None when there is none."""
    if isinstance(value, (datetime, date)):
        return value.strftime("%Y-%m-%d")
    return None


def cell_text(value: object) -> str:
    """A table cell as a person would read it: 3 not 3.0, dates as ISO, nothing for empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    return " ".join(str(value).split())


def describe_row(label: str, headers: Sequence[str], values: Sequence[object]) -> str | None:
    """One table row as ``<label>: Header: value; Header: value.``, empty cells left out.

    Every row line carries its headers, so a chunk cut anywhere in a table still reads on its
    own. The label starts with a capital letter because the sentence splitter joins a paragraph
    that starts in lower case to the one before it.
    """
    names = list(headers) + column_headers([None] * (len(values) - len(headers)), first=len(headers))
    cells = [f"{name}: {text}" for name, value in zip(names, values) if (text := cell_text(value))]
    if not cells:
        return None
    line = f"{label}: {'; '.join(cells)}"
    # A full stop makes the row a sentence: answer generators quote sentences, not fragments.
    return line if line.endswith((".", "!", "?")) else line + "."


def column_headers(row: Sequence[object], first: int = 0) -> list[str]:
    """Header names of a table, with a column letter standing in for a blank header."""
    return [cell_text(value) or f"Column {get_column_letter(first + n + 1)}" for n, value in enumerate(row)]



def check_zip(path: Path, data: bytes) -> None:
    """Refuse a zip-based file (.docx, .xlsx) with too many entries or too much to unpack, from
    its directory alone (a reader never yields more than an entry's declared size)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return  # not a zip: the format's parser says what is wrong with it
    if len(entries) > MAX_ZIP_ENTRIES:
        raise LoadError(str(path), f"the file holds {len(entries):,} packed parts; the limit is {MAX_ZIP_ENTRIES:,}")
    unpacked = sum(entry.file_size for entry in entries)
    if unpacked > MAX_ZIP_BYTES:
        raise LoadError(str(path), f"the file unpacks to {unpacked / 2**20:,.0f} MB; the limit is "
                                   f"{MAX_ZIP_BYTES / 2**20:.0f} MB")
