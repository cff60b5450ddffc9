"""The Documents tab's work: uploads checked and copied under safe names, ingested with progress;
the table of documents; removal.

An upload's client-side name is used for display only: the file is copied into
``<data_dir>/uploads`` under a name made of ASCII letters, digits, ``-`` and ``_``, the first
characters of its content's SHA-256 and its (allowed) suffix, so no name can point anywhere else
and two different files never share a name (``Report.PDF`` and ``report.pdf`` are two documents;
the same bytes uploaded again are the same document). A failed upload deletes only the file it
stored itself. Archives are refused, not unpacked.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Sequence
from urllib.parse import unquote, urlparse

from ..assistant import Assistant
from ..errors import InputError, RagError
from ..ingestion import Ingestor
from ..loading import supported_suffixes
from ..store import StoredDocument

log = logging.getLogger(__name__)

ARCHIVES = (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".zst")
Progress = Callable[[float, str], None]  # (fraction done, what) for the page's progress bar


@dataclass(frozen=True)
class UploadResult:
    """What became of one uploaded file; ``name`` is the client's name, for display only."""

    name: str
    ok: bool
    message: str


def safe_upload_name(client_name: str) -> str:
    """A file name for an upload: ASCII letters, digits, ``-`` and ``_``, then the lower-cased
    suffix. Directories, drive letters, dots and anything else in the client's name are dropped."""
    base = PurePosixPath(client_name.replace("\\", "/")).name
    suffix = PurePosixPath(base).suffix.lower()
    stem = base[: len(base) - len(suffix)] if suffix else base
    stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-_")[:80].strip("-_") or "document"
    suffix = re.sub(r"[^a-z0-9.]", "", suffix)
    return f"{stem}{suffix}"


def stored_upload_name(client_name: str, digest: str) -> str:
    """The name an upload is stored under: its safe name, lower-cased, with the first ten hex
    digits of its content's SHA-256 before the suffix (``report-3f2a9c0b1d.pdf``)."""
    safe = safe_upload_name(client_name).lower()
    suffix = PurePosixPath(safe).suffix if "." in safe else ""
    stem = safe[: len(safe) - len(suffix)]
    return f"{stem[:80]}-{digest[:10]}{suffix}"


def file_digest(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def display_source(source: str) -> str:
    """A source for the table: a URL as it is, a local file by its name."""
    if source.lower().startswith("file://"):
        return PurePosixPath(unquote(urlparse(source).path)).name or source
    return source


class Corpus:
    """Adds uploaded files to the assistant's store, lists its documents and removes them."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant
        self.settings = assistant.settings
        self.upload_dir = self.settings.data_dir / "uploads"

    @property
    def max_bytes(self) -> int:
        """The upload size limit in bytes (``RAG_MAX_UPLOAD_MB``)."""
        return self.settings.max_upload_mb * 1024 * 1024

    def documents(self) -> list[StoredDocument]:
        """Every document in the store, sorted by title."""
        return self.assistant.store.list_documents()

    def rows(self) -> list[list[object]]:
        """The document table: title, passages (chunks), format, source, id."""
        return [[d.title, d.chunk_count, str(d.metadata.get("format", "")), display_source(d.source), d.doc_id]
                for d in self.documents()]

    def choices(self) -> list[tuple[str, str]]:
        """(label, doc id) pairs for the document pickers; a repeated title shows its id."""
        documents = self.documents()
        titles = [d.title for d in documents]
        return [(d.title if titles.count(d.title) == 1 else f"{d.title} ({d.doc_id})", d.doc_id) for d in documents]

    def check(self, path: Path, name: str) -> str | None:
        """Why an uploaded file cannot be added, or None when it can."""
        suffix = PurePosixPath(name).suffix.lower()
        allowed = supported_suffixes()
        if suffix in ARCHIVES:
            return f"archives are not unpacked; upload the files inside it (supported: {', '.join(allowed)})"
        if suffix not in allowed:
            return f"unsupported type '{suffix or '(none)'}'; supported: {', '.join(allowed)}"
        try:
            size = path.stat().st_size
        except OSError:
            return "the upload did not arrive; try again"
        if size == 0:
            return "the file is empty"
        if size > self.max_bytes:
            return f"the file is {size / 1024 / 1024:.1f} MB; the limit is {self.settings.max_upload_mb} MB"
        return None

    def add_files(self, uploads: Sequence[tuple[Path, str]], progress: Progress | None = None) -> list[UploadResult]:
        """Check, copy and ingest uploaded files given as (temporary path, client name)."""
        results: dict[int, UploadResult] = {}
        accepted: dict[int, Path] = {}
        created: set[Path] = set()  # files this call stored: the only ones a failure may delete
        self.upload_dir.mkdir(parents=True, exist_ok=True)
        for index, (temporary, name) in enumerate(uploads):
            problem = self.check(Path(temporary), name)
            if problem:
                results[index] = UploadResult(name, False, problem)
                continue
            try:
                target = self.upload_dir / stored_upload_name(name, file_digest(Path(temporary)))
            except OSError as error:
                results[index] = UploadResult(name, False, f"cannot read the upload ({error.strerror or error})")
                continue
            if target in accepted.values():
                results[index] = UploadResult(name, False, "the same file is in this upload twice")
                continue
            if not target.exists():  # the same bytes stored before: that file is the document already
                staging = self.upload_dir / f".incoming-{uuid.uuid4().hex}"
                try:
                    shutil.copyfile(temporary, staging)
                    os.replace(staging, target)
                except OSError as error:
                    staging.unlink(missing_ok=True)
                    log.warning("cannot store upload %s: %s", target.name, error)
                    results[index] = UploadResult(name, False, f"cannot store the file ({error.strerror or error})")
                    continue
                created.add(target)
            accepted[index] = target
        if accepted:
            self._ingest(accepted, uploads, results, progress, created)
        return [results[i] for i in range(len(uploads))]

    def remove(self, doc_id: str) -> str:
        """Remove one document (and its uploaded file); returns a sentence saying what was done."""
        stored = next((d for d in self.documents() if d.doc_id == doc_id), None)
        if stored is None:
            raise InputError("that document is no longer in the store; the table shows what is there")
        chunks = self._ingestor().remove(doc_id)
        path = Path(str(stored.metadata.get("path", "")))
        if path.name and path.parent == self.upload_dir.resolve():  # only files we stored ourselves
            path.unlink(missing_ok=True)
        return f"Removed “{stored.title}” ({chunks} passage{'s' if chunks != 1 else ''})."

    # ----- internals -----------------------------------------------------------------------
    def _ingestor(self) -> Ingestor:
        return Ingestor(self.assistant.store, self.assistant.retriever.embeddings, self.settings)

    def _ingest(self, accepted: dict[int, Path], uploads: Sequence[tuple[Path, str]],
                results: dict[int, UploadResult], progress: Progress | None, created: set[Path]) -> None:
        def discard(path: Path) -> None:
            if path in created:
                path.unlink(missing_ok=True)

        if progress:
            progress(0.0, f"Reading {len(accepted)} file{'s' if len(accepted) != 1 else ''}…")

        def on_progress(done: int, total: int, what: str) -> None:
            if progress and total:
                progress(done / total, f"Embedding passages {done}/{total}")

        try:
            report = self._ingestor().ingest_paths(list(accepted.values()), on_progress)
        except RagError as error:
            log.warning("upload ingest failed: %s", error)
            for index, path in accepted.items():
                discard(path)
                results[index] = UploadResult(uploads[index][1], False, str(error))
            return
        failed = {os.path.realpath(e.path): e.reason for e in report.failed}
        by_path: dict[str, list[StoredDocument]] = {}
        for document in self.documents():
            by_path.setdefault(str(document.metadata.get("path", "")), []).append(document)
        for index, path in accepted.items():
            name = uploads[index][1]
            real = os.path.realpath(path)
            if real in failed:
                discard(path)
                results[index] = UploadResult(name, False, failed[real])
                continue
            documents = by_path.get(real, []) or by_path.get(str(path.resolve()), [])
            if not documents:
                discard(path)
                results[index] = UploadResult(name, False, "no text could be read from it")
                continue
            chunks = sum(d.chunk_count for d in documents)
            titles = ", ".join(f"“{d.title}”" for d in documents)
            passages = f"{chunks} passage{'s' if chunks != 1 else ''}"
            results[index] = UploadResult(name, True, f"added as {titles}: {passages}")
