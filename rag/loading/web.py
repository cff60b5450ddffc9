"""Web pages by URL: fetched with httpx (time and size limits, http/https only), then read
by the loader for their content type; an HTML page's article is extracted by trafilatura.

Fetching never reaches inside the network it runs in: before every hop (redirects are followed
here, one at a time) the host's addresses are resolved and a loopback, private, link-local
(169.254.169.254, the cloud metadata service), multicast or reserved one is refused. Loopback is
allowed only on request (``RAG_ALLOW_LOOPBACK_URLS``, for pages served on this machine). The
whole fetch has one time limit (a server that drips a byte a second is cut off), and both the
bytes on the wire and the decompressed body have a size limit.

The URL as given stays the document's source and fixes its id, so ingesting it again
replaces the page instead of adding a copy.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import mimetypes
import socket
import time
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urljoin, urlsplit

import httpx

from ..errors import LoadError
from ..types import SourceDocument
from .common import url_doc_id
from .html_page import html_document

TIMEOUT_S = 20.0
MAX_REDIRECTS = 5
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_USER_AGENT = "rag-assistant/1.0 (document ingestion)"


def is_url(text: str) -> bool:
    """True for an http(s) URL with a host: the only kind ingestion fetches."""
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def load_url(url: str, max_bytes: int, timeout_s: float = TIMEOUT_S,
             allow_loopback: bool = False) -> list[SourceDocument]:
    """Fetch ``url`` and load what it serves; LoadError naming the URL when that fails."""
    if not is_url(url):
        raise LoadError(url, "only http:// and https:// URLs can be fetched")
    data, content_type = fetch(url, max_bytes, timeout_s, allow_loopback)
    doc_id = url_doc_id(url)
    if content_type in _HTML_TYPES or (not content_type and data.lstrip()[:1] == b"<"):
        return [html_document(data, url, doc_id=doc_id, fallback_title=url, fallback_source=url, url=url)]
    return _load_other(url, data, content_type, doc_id)


def fetch(url: str, max_bytes: int, timeout_s: float = TIMEOUT_S,
          allow_loopback: bool = False) -> tuple[bytes, str]:
    """The body of ``url`` (at most ``max_bytes``) and its media type, following redirects to
    public addresses only, all within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    current = url
    try:
        with httpx.Client(follow_redirects=False, headers={"User-Agent": _USER_AGENT}) as client:
            for _ in range(MAX_REDIRECTS + 1):
                check_address(url, current, allow_loopback)
                with client.stream("GET", current, timeout=_left(url, deadline, timeout_s)) as response:
                    if response.is_redirect:
                        current = urljoin(current, response.headers.get("location", ""))
                        if not is_url(current):
                            raise LoadError(url, f"redirected to {current[:100]!r}, which is not an http(s) URL")
                        continue
                    return _read(url, response, max_bytes, deadline, timeout_s)
    except httpx.TimeoutException as error:
        raise LoadError(url, f"no answer within {timeout_s:.0f} s ({type(error).__name__})") from error
    except httpx.HTTPError as error:
        raise LoadError(url, f"cannot fetch: {type(error).__name__}: {error}") from error
    raise LoadError(url, f"more than {MAX_REDIRECTS} redirects")


def check_address(url: str, hop: str, allow_loopback: bool) -> None:
    """Refuse a hop whose host resolves to an address inside this machine's networks."""
    host = urlsplit(hop).hostname or ""
    try:
        infos = socket.getaddrinfo(host, urlsplit(hop).port or 80, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise LoadError(url, f"cannot fetch: the host {host!r} does not resolve ({error})") from error
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if address.is_loopback and allow_loopback:
            continue
        if address.is_loopback or not address.is_global or address.is_multicast:
            kind = "loopback" if address.is_loopback else "link-local" if address.is_link_local else "private"
            hint = " (set RAG_ALLOW_LOOPBACK_URLS=1 to ingest pages served on this machine)" if address.is_loopback else ""
            raise LoadError(url, f"refusing to fetch {host}: it resolves to {address}, a {kind} address, not a "
                                 f"public one{hint}")


def _left(url: str, deadline: float, timeout_s: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise LoadError(url, f"no answer within {timeout_s:.0f} s (the whole fetch took too long)")
    return left


def _read(url: str, response: httpx.Response, max_bytes: int, deadline: float, timeout_s: float) -> tuple[bytes, str]:
    if response.status_code >= 400:
        raise LoadError(url, f"the server answered HTTP {response.status_code} {response.reason_phrase}")
    declared = int(response.headers.get("content-length") or 0)
    if declared > max_bytes:
        raise LoadError(url, _too_large(declared, max_bytes))
    body = bytearray()
    for piece in response.iter_bytes():
        body.extend(piece)
        # A server may send more than it declared, or a small compressed body that inflates.
        if len(body) > max_bytes or response.num_bytes_downloaded > max_bytes:
            raise LoadError(url, _too_large(max(len(body), response.num_bytes_downloaded), max_bytes))
        _left(url, deadline, timeout_s)
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
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
