"""YAML front matter of text and Markdown files, read within bounds.

Front matter is a few lines of metadata, so anything beyond that is refused before PyYAML
builds a value: a block over ``MAX_BYTES``, any anchor or alias (``&a`` / ``*a``: a kilobyte of
nested aliases expands to gigabytes when the value is turned into text), nesting deeper than
``MAX_DEPTH``, more than ``MAX_NODES`` values, or one value longer than ``MAX_VALUE_CHARS``.
Keys that name the store's own bookkeeping (``path`` and the like), ids that start with ``__``
are refused too, and a source that is not an http(s) URL is dropped (the file's path stands in):
a document must not pass itself off as another file or as the store. (Whether an id is taken by another file is ingestion's check.)
"""

from __future__ import annotations

import logging
import re
from typing import Any

import yaml

log = logging.getLogger(__name__)

MAX_BYTES = 8 * 1024
MAX_DEPTH = 4
MAX_NODES = 200
MAX_VALUE_CHARS = 1000
# Metadata the loaders and the store write themselves; a document may not set them.
RESERVED_KEYS = frozenset({"path", "parent_id", "attachment", "kind", "version", "chunk_count", "committed_at",
                           "page_starts", "format", "pages", "ocr", "ocr_pages"})

_BLOCK = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*\n", re.DOTALL)


class FrontMatterError(ValueError):
    """The front matter is there but refused; the message says why."""


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """The front matter as a dict and the body after it; ({}, text) when there is none.

    Raises FrontMatterError when the block is over the bounds above; a block that is not YAML
    at all is taken as no front matter (the text is kept whole)."""
    match = _BLOCK.match(text)
    if not match:
        return {}, text
    block = match.group(1)
    size = len(block.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        raise FrontMatterError(f"the front matter is {size:,} bytes; the limit is {MAX_BYTES:,}")
    try:
        _check_events(block)
        data = yaml.safe_load(block)
    except yaml.YAMLError:
        return {}, text  # not front matter after all: keep the text whole
    if not isinstance(data, dict):
        return {}, text
    _check_keys(data)
    return data, text[match.end():]


def _check_events(block: str) -> None:
    """Refuse anchors, aliases, deep nesting and too many values, reading parser events only
    (no value is built, so nothing can expand)."""
    depth = nodes = 0
    for event in yaml.parse(block, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise FrontMatterError("the front matter uses YAML anchors or aliases (& and *); write the values out")
        if isinstance(event, (yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            nodes += 1
            if nodes > MAX_NODES:
                raise FrontMatterError(f"the front matter has over {MAX_NODES} values; keep it to a few fields")
        if isinstance(event, yaml.ScalarEvent) and len(event.value) > MAX_VALUE_CHARS:
            raise FrontMatterError(f"a front matter value is {len(event.value):,} characters long; "
                                   f"the limit is {MAX_VALUE_CHARS:,}")
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise FrontMatterError(f"the front matter is nested over {MAX_DEPTH} levels deep")
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def _check_keys(data: dict[Any, Any]) -> None:
    reserved = sorted(str(key) for key in data if str(key).lower() in RESERVED_KEYS)
    if reserved:
        raise FrontMatterError(f"the front matter sets '{reserved[0]}', which only the store sets; remove that line")
    for key in ("source", "url"):
        value = data.get(key)
        if value is not None and not re.match(r"https?://[^\s/]+", str(value), re.IGNORECASE):
            # Not refused: the text is still worth reading; only the link is not kept (a javascript:
            # or file: "source" would be a link a reader might click). The file's own path stands in.
            log.warning("front matter %s %r is not an http(s) URL; the file's own path is its source instead",
                        key, str(value)[:60])
            del data[key]
    doc_id = data.get("id")
    if doc_id is not None and (not isinstance(doc_id, (str, int)) or not str(doc_id).strip() or str(doc_id).startswith("__") or len(str(doc_id)) > 200):
        raise FrontMatterError(f"the front matter id {str(doc_id)[:60]!r} is reserved or unusable; use letters, "
                               "digits and dashes (ids starting with '__' belong to the store)")
