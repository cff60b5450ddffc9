"""Plain text and Markdown, with an optional YAML front matter block for metadata."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import LoadError
from ..types import Scalar, SourceDocument
from .cleaning import clean_text, decode_text, looks_binary
from .common import default_doc_id, file_source
from .dates import document_date
from .front_matter import FrontMatterError, split_front_matter

_MD_HEADING = re.compile(r"^#{1,3}\s+(.+?)\s*#*\s*$", re.MULTILINE)
# News text often ends with its own "Source: <url>" line.
_SOURCE_LINE = re.compile(r"^\s*source:\s*<?(https?://[^\s>]+)>?\s*$", re.IGNORECASE | re.MULTILINE)


def _guess_title(body: str, path: Path, markdown: bool) -> str:
    if markdown and (heading := _MD_HEADING.search(body[:2000])):
        return heading.group(1).strip()
    for line in body.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line if len(line) <= 150 else path.stem
    return path.stem


def load_text_file(path: Path, data: bytes) -> list[SourceDocument]:
    """Load a .txt or .md file; front matter keys id/title/source/url/publisher/author/date win."""
    raw = decode_text(data)
    if raw is None or looks_binary(raw):
        raise LoadError(str(path), "binary data, not text (is the file extension right?)")
    try:
        front, body = split_front_matter(raw.replace("\r\n", "\n"))
    except FrontMatterError as error:
        raise LoadError(str(path), str(error)) from error
    body = clean_text(body)
    if not body.strip():
        raise LoadError(str(path), "the file holds no text")
    markdown = path.suffix.lower() in (".md", ".markdown")
    source_line = _SOURCE_LINE.search(body)
    source = str(front.get("source") or front.get("url") or
                 (source_line.group(1) if source_line else file_source(path)))
    metadata: dict[str, Scalar] = {"format": "markdown" if markdown else "text"}
    for key, value in front.items():
        if key == "date" and value is not None:
            metadata["date"] = document_date(value, str(path))  # ISO, so date filters can compare it
        elif key not in ("id", "title", "source", "url") and value is not None:
            metadata[str(key)] = value if isinstance(value, (str, int, float, bool)) else str(value)
    return [SourceDocument(
        doc_id=str(front.get("id") or default_doc_id(path)),
        title=str(front.get("title") or _guess_title(body, path, markdown)),
        source=source, text=body, metadata=metadata)]
