"""Ingestion: files → documents → chunks → embeddings → store, idempotent and crash-safe.

* A document whose content hash matches the committed version is skipped without embedding.
* Chunk ids are content hashes (with the document version), so chunks written by an ingest
  that died before committing are reused; a passage an earlier version holds too gets a record
  of its own with that version's vector, copied, not embedded again.
* Embedding runs in the caller's thread while a second thread writes the previous batch;
  a document is committed (made visible) only after all of its chunks are written.
* One writer at a time: a file lock in the embedded store, a lease in a Chroma server; readers
  never wait.
"""

from __future__ import annotations

import contextlib
import logging
import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from filelock import FileLock, Timeout
from langchain_core.embeddings import Embeddings

from .chunking import chunk_document
from .config import Settings
from .errors import InputError, LoadError, StoreError
from .identity import owner, taken_by
from .keyword import KeywordIndex
from .loading import discover, load_source
from .retrieval import keyword_index_for
from .store import ChunkStore
from .types import Chunk, SourceDocument

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]  # (done, total, what) for a progress bar
_PLAN_GROUP = 256  # documents planned per store round trip
# Chunks per encoder call and store write. The encoder sorts one call's texts by length before it
# cuts them into small batches, so a large call pads little: 256 chunks in batches of 16 encode
# ~1.4x faster than calls of 64 in one batch (benchmarks/results/encode-batching.json).
_EMBED_GROUP = 256


@dataclass
class IngestReport:
    """What an ingest or sync did."""

    documents: int = 0
    unchanged_documents: int = 0
    added: int = 0
    unchanged: int = 0
    removed: int = 0
    removed_documents: list[str] = field(default_factory=list)
    failed: list[LoadError] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the end of a command."""
        line = (f"{self.documents} document{'s' if self.documents != 1 else ''} "
                f"({self.unchanged_documents} unchanged): chunks {self.added} added, "
                f"{self.unchanged} unchanged, {self.removed} removed")
        if self.removed_documents:
            line += f"; {len(self.removed_documents)} document(s) removed"
        if self.failed:
            line += f"; {len(self.failed)} file(s) failed"
        return line


@dataclass
class _Plan:
    document: SourceDocument
    chunks: list[Chunk]
    to_embed: list[Chunk]
    # Chunks whose passage is stored under another version: (chunk, id of the record whose
    # vector it reuses). Written as new records, so the visible version keeps its own.
    to_copy: list[tuple[Chunk, str]]
    had_chunks: bool = False  # some of its chunks were stored before this run


def passage_text(chunk: Chunk) -> str:
    """What is embedded for a chunk: its text under its document's title, so that a passage
    that never names its subject ("He said ...") is still found by it."""
    return f"{chunk.title}\n\n{chunk.text}"


@contextlib.contextmanager
def writer_lock(settings: Settings, store: ChunkStore, timeout_s: float = 600) -> Iterator[None]:
    """One writer of a corpus at a time: a file lock for the embedded store (across processes),
    a lease kept in the server for a Chroma server (across hosts)."""
    if settings.chroma_url:
        with store.writer_lease(timeout_s):
            yield
        return
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(settings.data_dir / "write.lock"))
    try:
        lock.acquire(timeout=timeout_s)
    except Timeout as error:
        raise StoreError(f"another ingest has held the store for {timeout_s:.0f} s; try again when it ends") from error
    try:
        yield
    finally:
        lock.release()


class Ingestor:
    """Writes documents into one store with one embedding model."""

    def __init__(self, store: ChunkStore, embeddings: Embeddings, settings: Settings,
                 keyword: KeywordIndex | None = None) -> None:
        # Chunk texts are embedded once: a cache in front of the model would only hold memory.
        self.store, self.embeddings, self.settings = store, getattr(embeddings, "inner", embeddings), settings
        # The keyword index is brought up to date at the end of each ingest, incrementally, and
        # saved, so the chat loads it from disk instead of re-reading the store.
        self.keyword = keyword if keyword is not None else keyword_index_for(settings)

    def ingest_paths(self, paths: Sequence[Path | str], progress: Progress | None = None) -> IngestReport:
        """Load every supported file under ``paths`` (and every http(s) URL among them) and ingest
        it; bad files are reported, not fatal."""
        found = discover(paths)
        report = IngestReport(failed=list(found.skipped))
        documents = self._load_all([*found.files, *found.urls], report)
        with writer_lock(self.settings, self.store):
            self._ingest(documents, report, progress)
        return report

    def ingest_documents(self, documents: Iterable[SourceDocument], progress: Progress | None = None) -> IngestReport:
        """Ingest already loaded documents."""
        report = IngestReport()
        with writer_lock(self.settings, self.store):
            self._ingest(documents, report, progress)
        return report

    def sync_folder(self, folder: Path, progress: Progress | None = None) -> IngestReport:
        """Make the store match ``folder``: add new files, re-embed changed ones, drop removed ones."""
        if not folder.is_dir():
            raise InputError(f"{folder}: not a folder")
        root = folder.resolve()
        found = discover([folder])
        report = IngestReport(failed=list(found.skipped))
        documents = self._load_all(found.files, report)
        present = {d.doc_id for d in documents} | {os.path.realpath(e.path) for e in report.failed}
        # A file that now yields fewer documents (an e-mail that lost an attachment) drops the rest.
        loaded = {str(d.metadata.get("path")) for d in documents}
        with writer_lock(self.settings, self.store):
            self._ingest(documents, report, progress)
            for stored in self.store.list_documents():
                path = str(stored.metadata.get("path", ""))
                if not path or stored.doc_id in present or path in present:
                    continue
                if path in loaded or (Path(path).is_relative_to(root) and not Path(path).exists()):
                    report.removed += self.store.remove_document(stored.doc_id)
                    report.removed_documents.append(stored.doc_id)
            for doc_id in self.store.orphan_doc_ids():  # left by an ingest that died
                self.store.collect_garbage(doc_id)
            self._refresh_keyword_index()
        return report

    def remove(self, doc_id_or_path: str) -> int:
        """Remove a document by id or URL, or the documents loaded from a path, with their
        attachments; returns chunks removed."""
        wanted = os.path.realpath(doc_id_or_path)  # as stored; realpath, unlike resolve(), survives a link loop
        with writer_lock(self.settings, self.store):
            stored = self.store.list_documents()
            doomed = {d.doc_id for d in stored
                      if doc_id_or_path in (d.doc_id, d.source) or d.metadata.get("path") == wanted}
            doomed |= {d.doc_id for d in stored if d.metadata.get("parent_id") in doomed}
            if doomed:
                removed = sum(self.store.remove_document(doc_id) for doc_id in sorted(doomed))
                self._refresh_keyword_index()
                return removed
        raise InputError(f"no document '{doc_id_or_path}' in the store; `python -m rag list` shows what is there")

    # ----- internals -----------------------------------------------------------------------
    def _load_all(self, sources: Sequence[Path | str], report: IngestReport) -> list[SourceDocument]:
        documents: list[SourceDocument] = []
        ids: dict[str, str] = {}
        for path in sources:
            try:
                for document in load_source(path, allow_loopback_urls=self.settings.allow_loopback_urls):
                    meta = dict(document.metadata)
                    if isinstance(path, Path):  # a URL has no path: sync never removes it
                        meta["path"] = str(path.resolve())
                    document = SourceDocument(document.doc_id, document.title, document.source, document.text,
                                              meta, document.page_starts)
                    if document.doc_id in ids:
                        raise LoadError(str(path), f"document id '{document.doc_id}' is also used by {ids[document.doc_id]}")
                    ids[document.doc_id] = str(path)
                    documents.append(document)
            except LoadError as error:
                log.warning("skipped %s", error)
                report.failed.append(error)
        return documents

    def _plans(self, documents: Sequence[SourceDocument], report: IngestReport) -> list[_Plan]:
        """What to embed, copy and commit for a group of documents, in two round trips."""
        committed = self.store.get_documents([d.doc_id for d in documents])
        changed = []
        for document in documents:
            current = committed.get(document.doc_id)
            if current is not None and (other := taken_by(current, document)):
                report.failed.append(LoadError(owner(document.metadata, document.source),
                                               f"document id '{document.doc_id}' belongs to {other}; give this file "
                                               "another id in its front matter"))
                log.warning("skipped %s", report.failed[-1])
                continue
            report.documents += 1
            if current is not None and current.version == document.content_hash:
                report.unchanged_documents += 1
                report.unchanged += current.chunk_count
            else:
                changed.append(document)
        stored_by_doc = self.store.stored_chunks([d.doc_id for d in changed])
        plans = []
        for document in changed:
            chunks = chunk_document(document, self.settings.chunk_size, self.settings.chunk_overlap)
            stored = stored_by_doc.get(document.doc_id, {})
            vectors = {key: chunk_id for chunk_id, (_, key) in stored.items()}
            fresh = [c for c in chunks if c.id not in stored]  # not written by an earlier, interrupted run
            to_embed = [c for c in fresh if c.vector_key not in vectors]
            to_copy = [(c, vectors[c.vector_key]) for c in fresh if c.vector_key in vectors]
            plans.append(_Plan(document, chunks, to_embed, to_copy, had_chunks=bool(stored)))
            report.added += len(to_embed)
            report.unchanged += len(chunks) - len(to_embed)
            current = committed.get(document.doc_id)
            kept = {c.vector_key for c in chunks}
            report.removed += sum(1 for version, key in stored.values()  # passages the new version dropped
                                  if current is not None and version == current.version and key not in kept)
        return plans

    def _ingest(self, documents: Iterable[SourceDocument], report: IngestReport, progress: Progress | None) -> None:
        plans: list[_Plan] = []
        group: list[SourceDocument] = []
        for document in documents:
            group.append(document)
            if len(group) >= _PLAN_GROUP:
                plans.extend(self._plans(group, report))
                group = []
        plans.extend(self._plans(group, report))
        total = sum(len(p.to_embed) for p in plans)
        done = queued = 0
        # One writer thread: it writes batch i while this thread embeds batch i+1.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rag-writer") as writer:
            pending: list[Future[None]] = []
            queue: list[Chunk] = []
            ready: list[tuple[_Plan, int]] = []   # (plan, position of its last chunk in the stream)
            for plan in plans:
                queue.extend(plan.to_embed)
                queued += len(plan.to_embed)
                ready.append((plan, queued))
                while len(queue) >= _EMBED_GROUP:
                    batch, queue = queue[:_EMBED_GROUP], queue[_EMBED_GROUP:]
                    done += len(batch)
                    # Documents whose last chunk is in this batch or before are committed with it.
                    finished = [p for p, end in ready if end <= done]
                    ready = [(p, end) for p, end in ready if end > done]
                    pending.append(writer.submit(self._write, batch, self._embed(batch), finished, report))
                    self._drain(pending, keep=1)
                    if progress:
                        progress(done, total, "embedding")
            done += len(queue)
            pending.append(writer.submit(self._write, queue, self._embed(queue), [p for p, _ in ready], report))
            self._drain(pending, keep=0)
            if progress:
                progress(done, total, "embedding")
        if plans:
            self._refresh_keyword_index()

    def _refresh_keyword_index(self) -> None:
        generation, versions = self.store.committed_state(max_age_s=0)
        self.keyword.sync(versions, self.store.iter_chunks, generation)

    def _embed(self, chunks: Sequence[Chunk]) -> list[list[float]]:
        if not chunks:
            return []
        return self.embeddings.embed_documents([passage_text(c) for c in chunks])

    def _write(self, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]], finished: Sequence[_Plan],
               report: IngestReport) -> None:
        if chunks:
            self.store.write_chunks(chunks, vectors)
        copies = [pair for plan in finished for pair in plan.to_copy]
        for start in range(0, len(copies), _EMBED_GROUP):
            group = copies[start:start + _EMBED_GROUP]
            reused = self.store.get_vectors(list({source for _, source in group}))
            self.store.write_chunks([c for c, _ in group], [reused[source] for _, source in group])
        self.store.commit_documents([(plan.document, len(plan.chunks)) for plan in finished])
        for plan in finished:
            if plan.had_chunks:  # only a document stored before can have chunks to drop
                self.store.collect_garbage(plan.document.doc_id)

    @staticmethod
    def _drain(pending: list[Future[None]], keep: int) -> None:
        while len(pending) > keep:
            pending.pop(0).result()  # re-raises a failed write here, in the caller's thread
