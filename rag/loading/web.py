"""Web pages by URL: fetched with httpx (time and size limits, http/https only), then read
by the loader for their content type; an HTML page's article is extracted by trafilatura.

The URL as given stays the document's source and fixes its id, so ingesting it again
replaces the page instead of adding a copy.
"""

from __future__ import annotations

import dataclasses
import mimetypes
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

import httpx

from ..errors import LoadError
from ..types import SourceDocument
from .common import url_doc_id
from .html_page import html_document

TIMEOUT_S = 20.0
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_USER_AGENT = "rag-assistant/1.0 (document ingestion)"


def is_url(text: str) -> bool:
    """True for an http(s) URL with a host: the only kind ingestion fetches."""
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def load_url(url: str, max_bytes: int, timeout_s: float = TIMEOUT_S) -> list[SourceDocument]:
    """Fetch ``url`` and load what it serves; LoadError naming the URL when that fails."""
    if not is_url(url):
        raise LoadError(url, "only http:// and https:// URLs can be fetched")
    data, content_type = fetch(url, max_bytes, timeout_s)
    doc_id = url_doc_id(url)
    if content_type in _HTML_TYPES or (not content_type and data.lstrip()[:1] == b"<"):
        return [html_document(data, url, doc_id=doc_id, fallback_title=url, fallback_source=url, url=url)]
    return _load_other(url, data, content_type, doc_id)


def fetch(url: str, max_bytes: int, timeout_s: float = TIMEOUT_S) -> tuple[bytes, str]:
    """The body of ``url`` (at most ``max_bytes``) and its media type, following redirects."""
    try:
        with httpx.Client(follow_redirects=True, timeout=timeout_s, headers={"User-Agent": _USER_AGENT}) as client:
            with client.stream("GET", url) as response:
                if response.status_code >= 400:
                    raise LoadError(url, f"the server answered HTTP {response.status_code} {response.reason_phrase}")
                declared = int(response.headers.get("content-length") or 0)
                if declared > max_bytes:
                    raise LoadError(url, _too_large(declared, max_bytes))
                body = bytearray()
                for piece in response.iter_bytes():
                    body.extend(piece)
                    if len(body) > max_bytes:  # a server may send more than it declared
                        raise LoadError(url, _too_large(len(body), max_bytes))
                content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    except httpx.TimeoutException as error:
        raise LoadError(url, f"no answer within {timeout_s:.0f} s ({type(error).__name__})") from error
    except httpx.HTTPError as error:
        raise LoadError(url, f"cannot fetch: {type(error).__name__}: {error}") from error
    return bytes(body), content_type


def _load_other(url: str, data: bytes, content_type: str, doc_id: str) -> list[SourceDocument]:
    """A PDF, a text file and so on: the loader for its type reads it, then it takes the URL's id."""
    from . import LOADERS  # the registry imports this module; importing it at the top would be circular
    name = PurePosixPath(unquote(urlsplit(url).path)).name or "page"
    suffix = (mimetypes.guess_extension(content_type) if content_type else None) or PurePosixPath(name).suffix
    loader = LOADERS.get(suffix.lower())
    if loader is None:
        raise LoadError(url, f"unsupported content type '{content_type or 'unknown'}'")
    documents = loader(Path(PurePosixPath(name).with_suffix(suffix).name), data)
    return [dataclasses.replace(d, doc_id=doc_id if n == 0 else f"{doc_id}-{n}", source=url,
                                metadata={**d.metadata, "url": url})
            for n, d in enumerate(documents)]


def _too_large(size: int, max_bytes: int) -> str:
    return f"the page is over {max_bytes / 2**20:.1f} MB ({size:,} bytes so far); the limit is {max_bytes:,} bytes"
