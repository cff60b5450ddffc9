"""HTML pages through trafilatura: the main text and its metadata, without navigation or ads.

Used for .html files and for web pages fetched by URL (``web.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import trafilatura
from trafilatura.settings import use_config

from ..errors import LoadError
from ..types import Scalar, SourceDocument
from .cleaning import clean_text, decode_text, looks_binary
from .common import default_doc_id, file_source

_CONFIG = use_config()
# trafilatura's own cap is 20 MB; ours (MAX_FILE_BYTES) is checked before a page gets here.
_CONFIG.set("DEFAULT", "MAX_FILE_SIZE", str(64 * 1024 * 1024))


def load_html_file(path: Path, data: bytes) -> list[SourceDocument]:
    """Load a saved web page; its canonical URL, when it names one, becomes the source."""
    return [html_document(data, str(path), doc_id=default_doc_id(path), fallback_title=path.stem,
                          fallback_source=file_source(path))]


@dataclass(frozen=True)
class Article:
    """The main text of a page and what the page says about itself."""

    text: str
    title: str | None
    metadata: dict[str, Scalar]
    canonical_url: str | None


def extract_article(data: bytes, name: str, url: str | None = None) -> Article:
    """The article in an HTML page; ``name`` names the page in errors, ``url`` is where it came from."""
    sample = decode_text(data[:65536])
    if sample is None or looks_binary(sample):
        raise LoadError(name, "binary data, not HTML (is the file extension right?)")
    found = trafilatura.bare_extraction(data, url=url, with_metadata=True, include_comments=False,
                                        include_tables=True, config=_CONFIG)
    if found is None or not (found.text or "").strip():
        raise LoadError(name, "no article text found in the page")
    # trafilatura puts one block (paragraph, heading, list item) per line; a blank line
    # between blocks lets the sentence splitter end a heading where it ends.
    text = clean_text("\n\n".join(line for line in found.text.splitlines() if line.strip()))
    metadata: dict[str, Scalar] = {"format": "html"}
    for key, value in (("author", found.author), ("date", found.date), ("publisher", found.sitename),
                       ("url", found.url)):
        if value:
            metadata[key] = str(value)
    return Article(text=text, title=found.title, metadata=metadata, canonical_url=found.url)


def html_document(data: bytes, name: str, *, doc_id: str, fallback_title: str, fallback_source: str,
                  url: str | None = None) -> SourceDocument:
    """An HTML page's article as a document; the fetched ``url``, else the page's canonical URL,
    else ``fallback_source`` is its source."""
    article = extract_article(data, name, url)
    return SourceDocument(doc_id=doc_id, title=article.title or fallback_title,
                          source=url or article.canonical_url or fallback_source,
                          text=article.text, metadata=article.metadata)
