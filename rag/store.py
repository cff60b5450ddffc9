"""The vector store: Chroma, embedded or client/server, behind one class.

Two collections per corpus:

* ``<name>`` holds the chunks: text, provenance metadata and embedding, id = content hash.
* ``<name>-documents`` holds one record per document: its full text (so quotes can be
  checked and shown in context) and a manifest (content version, chunk count, file path).

A document becomes visible when its manifest record is written, after all its chunks; readers
ignore chunks whose ``doc_version`` is not the manifest's. Chunk ids include the version, so
writing a new version never touches a record the visible one reads. So a document is in the
store whole or not at all, old or new, even if an ingest dies half-way, and the next ingest
cleans up what it left.
Which Chroma (``PersistentClient`` or ``HttpClient``) is chosen in ``open_client`` only.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import socket
import threading
import time
import uuid
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence
from urllib.parse import urlparse

import chromadb
import chromadb.api.client
import numpy as np
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import NotFoundError
from filelock import FileLock, Timeout
from langchain_core.embeddings import Embeddings

from .config import PROJECT_ROOT, Settings
from .errors import StoreError
from .types import Chunk, Scalar, SourceDocument

log = logging.getLogger(__name__)

_GENERATION_ID = "__generation__"
# Chroma needs a vector for every record; document records are never searched by vector.
_NO_VECTOR = [0.0]
# Chunk vectors are compared by cosine (similarity = 1 - distance).
_CHUNK_INDEX = {"hnsw": {"space": "cosine"}}
_PAGE = 5000           # records per get() page
_WRITE_BATCH = 1000    # records per upsert()/delete() call
# How to rebuild the store behind each client that ``open_client`` made (for ChunkStore's errors).
_rebuild_hints: "weakref.WeakKeyDictionary[Any, tuple[str, str]]" = weakref.WeakKeyDictionary()
# How to make a new client of the embedded store behind each client ``open_client`` made.
_reopeners: "weakref.WeakKeyDictionary[Any, Callable[[], chromadb.ClientAPI]]" = weakref.WeakKeyDictionary()
_GENERIC_HINT = "move the store folder aside and ingest your documents again: .venv/bin/python -m rag ingest corpus/"
# Opening a store waits at most this long for another process that is opening (creating) it.
_OPEN_TIMEOUT_S = 120.0


def rebuild_hint(settings: Settings) -> str:
    """The exact commands that rebuild the configured store from the documents it was built from."""
    sources = [settings.corpus_dir]
    uploads = settings.data_dir / "uploads"  # files added in the chat's Documents tab
    if uploads.is_dir() and any(uploads.iterdir()):
        sources.append(uploads)
    ingest = ".venv/bin/python -m rag ingest " + " ".join(_shown(p, PROJECT_ROOT) for p in sources)
    if settings.collection != "corpus":
        ingest += f" --collection {shlex.quote(settings.collection)}"
    if settings.chroma_url:
        return (f"if the server's data is damaged, restart it on an empty --path, then rebuild the collection: "
                f"cd {shlex.quote(str(PROJECT_ROOT))} && {ingest} --chroma-url {shlex.quote(settings.chroma_url)}")
    if settings.data_dir.resolve() != (PROJECT_ROOT / ".rag").resolve():
        ingest += f" --data-dir {_shown(settings.data_dir, PROJECT_ROOT)}"
    store = settings.store_dir
    aside = store.with_name(f"{store.name}.broken-{time.strftime('%Y%m%d-%H%M%S')}")
    return (f"move it aside and build it again: cd {shlex.quote(str(PROJECT_ROOT))} && "
            f"mv {_shown(store, PROJECT_ROOT)} {_shown(aside, PROJECT_ROOT)} && {ingest}")


def _shown(path: Path, root: Path) -> str:
    """A path as a command line shows it: relative to ``root`` when inside it, quoted if need be."""
    path = path.absolute()
    try:
        shown = str(path.relative_to(root))
    except ValueError:
        shown = str(path)
    return shlex.quote(shown)


def open_client(settings: Settings) -> chromadb.ClientAPI:
    """The Chroma client chosen by configuration: a server when ``chroma_url`` is set.

    The collections of ``settings.collection`` are checked by reading one record and one nearest
    neighbour, so a damaged store is reported here, at start, with how to rebuild it."""
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise StoreError(f"RAG_CHROMA_URL must look like http://host:port, got '{settings.chroma_url}'")
        try:
            client = chromadb.HttpClient(host=url.hostname, port=url.port or (443 if url.scheme == "https" else 8000),
                                         ssl=url.scheme == "https", settings=chroma_settings)
            client.heartbeat()
        except Exception as error:
            raise StoreError(f"cannot reach the Chroma server at {settings.chroma_url}: {error}. "
                             f"Start one with: chroma run --path DIR --host 127.0.0.1 --port {url.port or 8000}") from error
        where = f"the Chroma server at {settings.chroma_url}"
        _check_collections(client, settings, where)
    else:
        store = settings.store_dir
        where = f"the store at {store}"
        try:
            store.mkdir(parents=True, exist_ok=True)
            if not store.is_dir():
                raise NotADirectoryError(f"{store} is not a folder")
            with opening_lock(store):
                client = chromadb.PersistentClient(path=str(store), settings=chroma_settings)
                _create_collections(client, settings.collection)
        except StoreError:
            raise
        except Exception as error:
            raise StoreError(f"{where} cannot be opened ({_describe(error)}); it may be damaged or unreadable. "
                             f"To rebuild it, {rebuild_hint(settings)}") from error
        _check_collections(client, settings, where)
        _reopeners[client] = lambda: _reopened(store)
    _rebuild_hints[client] = (where, rebuild_hint(settings))
    return client


def _reopened(store: Path) -> chromadb.ClientAPI:
    """A client of an embedded store backed by a new Chroma instance, which reads the vector
    index files afresh: an instance keeps the index it loaded, and misses what another process
    flushed into the files since (every 1,000 records written, Chroma moves them from its log
    into the index). Clients made before keep the instance they have."""
    with opening_lock(store):
        chromadb.api.client.SharedSystemClient.clear_system_cache()  # Chroma's one instance per path
        client = chromadb.PersistentClient(path=str(store), settings=ChromaSettings(anonymized_telemetry=False))
    _reopeners[client] = lambda: _reopened(store)
    return client


@contextlib.contextmanager
def opening_lock(store: Path, timeout_s: float = _OPEN_TIMEOUT_S) -> Iterator[None]:
    """Serialise opening an embedded store across processes, for as long as opening takes.

    Chroma creates its SQLite schema (and our collections) on first open; two processes doing
    that at once fail with "table collections already exists". Readers wait here only while
    another process opens the store, never behind a writer's ingest (that is ``write.lock``)."""
    lock = FileLock(str(store.with_name(f"{store.name}.open.lock")))
    try:
        lock.acquire(timeout=timeout_s)
    except Timeout as error:
        raise StoreError(f"another process has been opening the store at {store} for {timeout_s:.0f} s; "
                         f"if none is running, delete {lock.lock_file} and try again") from error
    except OSError as error:  # a read-only folder: nobody can be creating a store in it
        log.debug("opening %s without the open lock (%s)", store, error)
        yield
        return
    try:
        yield
    finally:
        lock.release()


def _create_collections(client: chromadb.ClientAPI, collection: str) -> None:
    """Create the chunk and document collections of a corpus if they are new."""
    client.get_or_create_collection(collection, configuration=_CHUNK_INDEX)  # type: ignore[arg-type]
    client.get_or_create_collection(f"{collection}-documents")


def _check_collections(client: chromadb.ClientAPI, settings: Settings, where: str) -> None:
    """Read one record (with its vector) and search once in each collection of the corpus."""
    for name in (settings.collection, f"{settings.collection}-documents"):
        try:
            try:
                collection = client.get_collection(name)
            except NotFoundError:
                continue  # a new store: nothing to check yet
            collection.count()
            sample = collection.get(limit=1, include=["embeddings"])
            if sample["ids"]:
                collection.query(query_embeddings=[sample["embeddings"][0]], n_results=1, include=["distances"])
        except Exception as error:
            raise StoreError(f"{where} is damaged: reading collection '{name}' failed ({_describe(error)}). "
                             f"To rebuild it, {rebuild_hint(settings)}") from error


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


class Lease:
    """A writer lease on one corpus of a Chroma server: a collection whose name is the lock.

    Creating a collection whose name exists fails on the server, atomically, so at most one
    writer (on any host) holds ``<corpus>-writer-lease``. Its metadata names the holder and an
    expiry that the holder renews; a lease its holder stopped renewing (a killed writer) is
    taken over once expired, by renaming that very collection (by id) aside, so a fresh lease
    someone else just took is never the one removed. Expiry compares wall clocks: hosts must
    agree on the time to well within ``ttl_s``."""

    def __init__(self, client: chromadb.ClientAPI, corpus: str, ttl_s: float = 60.0) -> None:
        self.client, self.corpus, self.ttl_s = client, corpus, ttl_s
        self.name = f"{corpus}-writer-lease"
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._held: Any = None
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def acquire(self, timeout_s: float) -> None:
        """Wait up to ``timeout_s`` for the lease, then hold it (renewed in the background)."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self._held = self.client.create_collection(self.name, metadata=self._terms())
                break
            except Exception as error:
                current = self._current(error)
            if current is None:
                continue  # released in between: try again at once
            meta = current.metadata or {}
            if float(meta.get("expires_at", 0)) < time.time():
                log.warning("taking over the writer lease of %s, expired", meta.get("holder"))
                self._discard(current)
                continue
            if time.monotonic() >= deadline:
                raise StoreError(f"another writer ({meta.get('holder')}) has held collection '{self.corpus}' "
                                 f"for over {timeout_s:.0f} s; try again when it ends")
            time.sleep(min(0.5, max(deadline - time.monotonic(), 0.01)))
        self._stop.clear()
        self._renewer = threading.Thread(target=self._renew, name="rag-lease", daemon=True)
        self._renewer.start()

    def check(self) -> None:
        """Raise unless this process still holds the lease (before a commit)."""
        try:
            current = self.client.get_collection(self.name)
        except Exception:
            current = None
        if self._held is None or current is None or current.id != self._held.id:
            raise StoreError(f"this writer lost its lease on '{self.corpus}' (it expired and another writer took "
                             "it); nothing more is committed. Run the command again")

    def release(self) -> None:
        """Stop renewing and give the lease up."""
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        if self._held is not None:
            self._discard(self._held)
            self._held = None

    def _terms(self) -> dict[str, Scalar]:
        return {"holder": self.holder, "expires_at": time.time() + self.ttl_s}

    def _current(self, error: Exception) -> Any:
        try:
            return self.client.get_collection(self.name)
        except NotFoundError:
            return None
        except Exception:
            raise StoreError(f"cannot take the writer lease '{self.name}' ({_describe(error)})") from error

    def _discard(self, lease: Any) -> None:
        aside = f"{self.name}-gone-{uuid.uuid4().hex[:12]}"
        try:
            lease.modify(name=aside)  # by id: only this lease moves, whatever holds the name now
            self.client.delete_collection(aside)
        except Exception:  # someone else moved it first
            log.debug("writer lease %s already gone", lease.id)

    def _renew(self) -> None:
        while not self._stop.wait(self.ttl_s / 3):
            try:
                self.check()
                self._held.modify(metadata=self._terms())
            except StoreError as error:
                log.error("%s", error)
                return
            except Exception as error:  # the server is briefly away: the next renewal may succeed
                log.warning("could not renew the writer lease (%s)", _describe(error))


@dataclass(frozen=True)
class StoredDocument:
    """A document's manifest record, and its text when asked for."""

    doc_id: str
    title: str
    source: str
    version: str
    chunk_count: int
    metadata: Mapping[str, Scalar]
    text: str | None = None


class ChunkStore:
    """Chunks and documents of one corpus in Chroma; the only module that talks to Chroma."""

    def __init__(self, client: chromadb.ClientAPI, name: str, embeddings: Embeddings,
                 embedding_model: str | None = None) -> None:
        self.name = name
        self.embeddings = embeddings
        self._client = client
        self._lease: Lease | None = None
        self._reopen = _reopeners.get(client)  # None for a server: it serves one index to all
        self._own_generation: str | None = None
        self._where, self._rebuild_hint = _rebuild_hints.get(client, ("the vector store", _GENERIC_HINT))
        try:
            self._chunks = client.get_or_create_collection(name, configuration=_CHUNK_INDEX)  # type: ignore[arg-type]
            self._documents = client.get_or_create_collection(f"{name}-documents")
        except Exception as error:
            raise StoreError(f"cannot open collection '{name}' in {self._where} ({_describe(error)}). "
                             f"To rebuild it, {self._rebuild_hint}") from error
        if embedding_model is not None:
            self._check_embedding_model(embedding_model)
        self._lock = threading.Lock()
        self._generation: str | None = None
        self._versions: dict[str, str] = {}
        self._checked_at = 0.0

    def _check_embedding_model(self, model: str) -> None:
        """Vectors of two models must never meet in one collection: the store remembers its model."""
        meta = dict(self._chunks.metadata or {})
        built_with = meta.get("embedding_model")
        if built_with is None:
            self._call(self._chunks.modify, metadata={**meta, "embedding_model": model})
        elif built_with != model:
            raise StoreError(f"collection '{self.name}' was built with the embedding model '{built_with}', but "
                             f"'{model}' is configured. Set RAG_EMBEDDING_MODEL={built_with}, or use another "
                             f"RAG_COLLECTION (or RAG_DATA_DIR) to build a store with '{model}'")

    # ----- reading -------------------------------------------------------------------------
    def generation(self) -> str:
        """A token that changes whenever a document is committed or removed."""
        record = self._call(self._documents.get, ids=[_GENERATION_ID], include=["metadatas"])
        metas = record.get("metadatas") or []
        return str(metas[0].get("token")) if metas and metas[0] else "empty"

    def visible_versions(self, max_age_s: float = 0.5) -> dict[str, str]:
        """doc_id -> committed version, refreshed when another writer changed the store."""
        return self.committed_state(max_age_s)[1]

    def committed_state(self, max_age_s: float = 0.5) -> tuple[str, dict[str, str]]:
        """(generation token, doc_id -> committed version), re-read at most every ``max_age_s``
        and only in full when the generation changed."""
        with self._lock:
            now = time.monotonic()
            if now - self._checked_at >= max_age_s or self._generation is None:
                generation = self.generation()
                if generation != self._generation:
                    if self._generation is not None and generation != self._own_generation:
                        self._reconnect()  # another process wrote: its flushes are not in our index
                    self._versions = {d.doc_id: d.version for d in self.list_documents()}
                    self._generation = generation
                self._checked_at = now
            return self._generation, self._versions

    def corpora(self) -> list[str]:
        """Names of every corpus (a chunk collection with its documents collection) beside this one."""
        names = {c if isinstance(c, str) else c.name for c in self._call(self._client.list_collections)}
        return sorted(n for n in names if f"{n}-documents" in names and not n.startswith("__"))

    def _reconnect(self) -> None:
        if self._reopen is None:
            return
        try:
            client = self._reopen()
            chunks, documents = client.get_collection(self.name), client.get_collection(f"{self.name}-documents")
        except Exception as error:
            raise StoreError(f"{self._where} could not be opened again ({_describe(error)}). If this persists, the "
                             f"store may be damaged; to rebuild it, {self._rebuild_hint}") from error
        self._client, self._chunks, self._documents = client, chunks, documents
        self._reopen = _reopeners.get(client)

    def list_documents(self) -> list[StoredDocument]:
        """Every committed document's manifest, sorted by title."""
        docs = [self._to_stored(i, m) for i, m, _ in self._paged(self._documents, {"kind": "document"}, ["metadatas"])]
        return sorted(docs, key=lambda d: (d.title.lower(), d.doc_id))

    def get_document(self, doc_id: str, with_text: bool = True) -> StoredDocument | None:
        """One document's manifest (and full text), or None."""
        record = self._call(self._documents.get, ids=[doc_id],
                            include=["metadatas", "documents"] if with_text else ["metadatas"])
        if not record["ids"]:
            return None
        text = record["documents"][0] if with_text and record.get("documents") else None
        return self._to_stored(record["ids"][0], record["metadatas"][0], text)

    def get_documents(self, doc_ids: Sequence[str]) -> dict[str, StoredDocument]:
        """Manifests of many documents in one round trip per thousand (no texts)."""
        found: dict[str, StoredDocument] = {}
        for start in range(0, len(doc_ids), _WRITE_BATCH):
            record = self._call(self._documents.get, ids=list(doc_ids[start:start + _WRITE_BATCH]), include=["metadatas"])
            for doc_id, meta in zip(record["ids"], record["metadatas"]):
                found[doc_id] = self._to_stored(doc_id, meta)
        return found

    def stored_chunks(self, doc_ids: Sequence[str]) -> dict[str, dict[str, tuple[str, str]]]:
        """doc_id -> {chunk id -> (doc_version, vector key)} of the stored chunks of many documents."""
        found: dict[str, dict[str, tuple[str, str]]] = {}
        for start in range(0, len(doc_ids), 100):
            group = list(doc_ids[start:start + 100])
            for chunk_id, meta, _ in self._paged(self._chunks, {"doc_id": {"$in": group}}, ["metadatas"]):
                # A record written before chunks had versioned ids: its id is its vector key.
                found.setdefault(str(meta.get("doc_id")), {})[chunk_id] = (
                    str(meta.get("doc_version", "")), str(meta.get("vector_key") or chunk_id))
        return found

    def chunk_ids_of(self, doc_id: str) -> dict[str, str]:
        """chunk id -> doc_version of every stored chunk of a document, visible or not."""
        return {i: str(m.get("doc_version", "")) for i, m, _ in self._paged(self._chunks, {"doc_id": doc_id}, ["metadatas"])}

    def count_chunks(self) -> int:
        """Number of chunk records, including any not yet committed."""
        return int(self._call(self._chunks.count))

    def get_chunks(self, ids: Sequence[str], with_embeddings: bool = False) -> list[tuple[Chunk, list[float] | None]]:
        """Chunks by id, in the order asked, skipping unknown or invisible ones."""
        if not ids:
            return []
        versions = self.visible_versions()  # first: it may open the store again, fresher
        include = ["metadatas", "documents"] + (["embeddings"] if with_embeddings else [])
        record = self._call(self._chunks.get, ids=list(ids), include=include)
        embeddings = record.get("embeddings")
        found = {}
        for pos, chunk_id in enumerate(record["ids"]):
            vector = [float(x) for x in embeddings[pos]] if with_embeddings and embeddings is not None else None
            found[chunk_id] = (Chunk.from_record(chunk_id, record["documents"][pos], record["metadatas"][pos]), vector)
        return [found[i] for i in ids if i in found and versions.get(found[i][0].doc_id) == found[i][0].doc_version]

    def nearest(self, vector: Sequence[float], k: int, where: Mapping[str, Any] | None = None
                ) -> list[tuple[str, float, np.ndarray]]:
        """(id, cosine similarity, vector) of the k chunk records nearest to ``vector``.

        Asks Chroma for ids, distances and vectors only: reading metadata and texts is what costs
        (3.6 ms for 38 results against 1.9 ms without, at 1k chunks; LangChain's wrapper always
        reads them). Visibility needs the metadata, so ``get_chunks`` checks it for the few kept."""
        self.committed_state()  # another process's commits may need the index read afresh
        record = self._call(self._chunks.query, query_embeddings=[[float(x) for x in vector]], n_results=k,
                            where=dict(where) if where else None, include=["distances", "embeddings"])
        ids, distances, vectors = record["ids"][0], record["distances"][0], record["embeddings"][0]
        # cosine space: distance = 1 - cos
        return [(i, 1.0 - float(d), np.asarray(v, dtype=np.float32)) for i, d, v in zip(ids, distances, vectors)]

    def get_vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """id -> vector of the given chunk records (visible or not)."""
        if not ids:
            return {}
        self.committed_state()
        record = self._call(self._chunks.get, ids=list(ids), include=["embeddings"])
        return {i: np.asarray(v, dtype=np.float32) for i, v in zip(record["ids"], record["embeddings"])}

    def iter_chunks(self, doc_ids: Iterable[str] | None = None) -> Iterator[Chunk]:
        """Every visible chunk (of the given documents), page by page."""
        versions = self.visible_versions()
        wanted = list(doc_ids) if doc_ids is not None else None
        groups = [wanted[i:i + 100] for i in range(0, len(wanted), 100)] if wanted is not None else [None]
        for group in groups:
            where = {"doc_id": {"$in": group}} if group is not None else None
            for chunk_id, meta, text in self._paged(self._chunks, where, ["metadatas", "documents"]):
                chunk = Chunk.from_record(chunk_id, text or "", meta)
                if versions.get(chunk.doc_id) == chunk.doc_version:
                    yield chunk

    # ----- writing -------------------------------------------------------------------------
    @contextlib.contextmanager
    def writer_lease(self, timeout_s: float = 600, ttl_s: float = 60) -> Iterator[Lease]:
        """Be the only writer of this corpus on a shared server while the block runs; every
        commit in it first checks the lease is still ours."""
        lease = Lease(self._client, self.name, ttl_s)
        lease.acquire(timeout_s)
        self._lease = lease
        try:
            yield lease
        finally:
            self._lease = None
            lease.release()

    def write_chunks(self, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]) -> None:
        """Upsert chunks with their embeddings; they stay invisible until ``commit_document``."""
        for start in range(0, len(chunks), _WRITE_BATCH):
            batch = chunks[start:start + _WRITE_BATCH]
            self._call(self._chunks.upsert, ids=[c.id for c in batch],
                       documents=[c.text for c in batch],
                       metadatas=[c.to_metadata() for c in batch],
                       embeddings=np.asarray(vectors[start:start + _WRITE_BATCH], dtype=np.float32))

    def commit_documents(self, committed: Sequence[tuple[SourceDocument, int]]) -> None:
        """Make each document's current version the visible one (document, chunk count), in one
        write. Callers drop the older chunks afterwards with ``collect_garbage``."""
        if not committed:
            return
        if self._lease is not None:
            self._lease.check()
        ids, texts, metas = [], [], []
        for document, chunk_count in committed:
            meta: dict[str, Scalar] = {k: v for k, v in document.metadata.items() if v is not None}
            meta.update(kind="document", title=document.title, source=document.source,
                        version=document.content_hash, chunk_count=chunk_count, committed_at=time.time())
            if document.page_starts:
                meta["page_starts"] = ",".join(str(p) for p in document.page_starts)
            ids.append(document.doc_id)
            texts.append(document.text)
            metas.append(meta)
        for start in range(0, len(ids), _WRITE_BATCH):
            end = start + _WRITE_BATCH
            self._call(self._documents.upsert, ids=ids[start:end], documents=texts[start:end],
                       metadatas=metas[start:end], embeddings=[_NO_VECTOR] * len(ids[start:end]))
        self._bump_generation()

    def commit_document(self, document: SourceDocument, chunk_count: int) -> int:
        """Commit one document and drop its older chunks; returns how many were dropped."""
        self.commit_documents([(document, chunk_count)])
        return self.collect_garbage(document.doc_id)

    def remove_document(self, doc_id: str) -> int:
        """Remove a document and its chunks; returns the number of chunks removed."""
        self._call(self._documents.delete, ids=[doc_id])
        self._bump_generation()
        return self.collect_garbage(doc_id)

    def collect_garbage(self, doc_id: str) -> int:
        """Delete chunks of ``doc_id`` that are not of its committed version (or all of them
        if it is not committed): leftovers of a replaced version or of an interrupted ingest."""
        committed = self.get_document(doc_id, with_text=False)
        version = committed.version if committed else None
        stale = [i for i, v in self.chunk_ids_of(doc_id).items() if v != version]
        for start in range(0, len(stale), _WRITE_BATCH):
            self._call(self._chunks.delete, ids=stale[start:start + _WRITE_BATCH])
        return len(stale)

    def orphan_doc_ids(self) -> set[str]:
        """Documents that have chunks but no manifest: an ingest died before committing."""
        committed = {d.doc_id for d in self.list_documents()}
        seen = {str(m.get("doc_id")) for _, m, _ in self._paged(self._chunks, None, ["metadatas"])}
        return seen - committed

    def _bump_generation(self) -> None:
        token = uuid.uuid4().hex
        self._call(self._documents.upsert, ids=[_GENERATION_ID], documents=[""],
                   metadatas=[{"kind": "generation", "token": token}], embeddings=[_NO_VECTOR])
        with self._lock:
            self._own_generation = token  # our own writes are in our index already
            self._checked_at = 0.0  # our own change must be visible to our next read

    # ----- plumbing ------------------------------------------------------------------------
    def _paged(self, collection: Any, where: Mapping[str, Any] | None, include: list[str]
               ) -> Iterator[tuple[str, dict[str, Any], str | None]]:
        offset = 0
        while True:
            record = self._call(collection.get, where=dict(where) if where else None,
                                include=include, limit=_PAGE, offset=offset)
            ids = record["ids"]
            for pos, record_id in enumerate(ids):
                meta = record["metadatas"][pos] if record.get("metadatas") else {}
                text = record["documents"][pos] if record.get("documents") else None
                yield record_id, meta or {}, text
            if len(ids) < _PAGE:
                return
            offset += _PAGE

    @staticmethod
    def _to_stored(doc_id: str, meta: Mapping[str, Any], text: str | None = None) -> StoredDocument:
        skip = {"kind", "title", "source", "version", "chunk_count"}
        return StoredDocument(doc_id=doc_id, title=str(meta.get("title", doc_id)), source=str(meta.get("source", "")),
                              version=str(meta.get("version", "")), chunk_count=int(meta.get("chunk_count", 0)),
                              metadata={k: v for k, v in meta.items() if k not in skip}, text=text)

    def _call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except StoreError:
            raise
        except Exception as error:
            if getattr(method, "__name__", "") in _WRITES:
                raise StoreError(
                    f"could not write to {self._where} ({_describe(error)}). If the disk is full, free some space "
                    "and run the command again: documents committed before the failure are kept, and the rerun "
                    f"reuses what was written. If it keeps failing, the store may be damaged; to rebuild it, "
                    f"{self._rebuild_hint}") from error
            raise StoreError(f"{self._where} failed ({_describe(error)}). If this persists, the store may be "
                             f"damaged; to rebuild it, {self._rebuild_hint}") from error


_WRITES = frozenset({"add", "upsert", "update", "delete", "modify"})


@dataclass
class CopyReport:
    """What ``copy_corpus`` wrote to and deleted from the target."""

    copied: int = 0    # records added or updated
    removed: int = 0   # records the source no longer has


def copy_corpus(source: chromadb.ClientAPI, target: chromadb.ClientAPI, collection: str,
                progress: Any = None) -> CopyReport:
    """Make one corpus (its chunk and document collections: vectors, texts, metadata) in one
    Chroma the same as in another, e.g. an embedded store to a server when a corpus outgrows
    one machine; run again, it brings changed documents over and drops removed ones.

    Vectors are copied, not recomputed, so a 100k-chunk corpus moves in minutes. Records the
    target already holds unchanged are skipped, so an interrupted copy resumes. Chunks go
    first, then document records, then the generation (readers refresh on it), and only then
    is what the source no longer has deleted: the target shows each document whole, its old
    version or its new one."""
    report = CopyReport()
    kept: dict[str, set[str]] = {}
    generation: dict[str, Any] | None = None
    destinations: dict[str, Any] = {}
    for name in (collection, f"{collection}-documents"):
        try:
            origin = source.get_collection(name)
        except NotFoundError:
            if name == collection:
                raise StoreError(f"there is no collection '{collection}' to copy") from None
            continue
        try:
            configuration = _CHUNK_INDEX if name == collection else None
            destination = destinations[name] = target.get_or_create_collection(
                name, metadata=origin.metadata, configuration=configuration)  # type: ignore[arg-type]
            if origin.metadata and destination.metadata != origin.metadata:  # e.g. the embedding model's name
                destination.modify(metadata=origin.metadata)
            kept[name] = set()
            total, offset = origin.count(), 0
            while True:
                page = origin.get(include=["embeddings", "documents", "metadatas"], limit=_PAGE, offset=offset)
                ids = page["ids"]
                if not ids:
                    break
                kept[name].update(ids)
                present = destination.get(ids=ids, include=["metadatas"])
                theirs = dict(zip(present["ids"], present["metadatas"]))
                # Ids are content hashes, so a record with the id and metadata is the same record.
                rows = [n for n, i in enumerate(ids) if i not in theirs or theirs[i] != page["metadatas"][n]]
                if _GENERATION_ID in ids:  # written last, once the documents are there
                    n = ids.index(_GENERATION_ID)
                    generation = {"ids": [ids[n]], "metadatas": [page["metadatas"][n]], "documents": [""],
                                  "embeddings": [page["embeddings"][n]]}
                    rows = [r for r in rows if r != n]
                for start in range(0, len(rows), _WRITE_BATCH):
                    batch = rows[start:start + _WRITE_BATCH]
                    destination.upsert(ids=[ids[n] for n in batch], embeddings=[page["embeddings"][n] for n in batch],
                                       documents=[page["documents"][n] for n in batch],
                                       metadatas=[page["metadatas"][n] for n in batch])
                report.copied += len(rows)
                offset += len(ids)
                if progress:
                    progress(offset, total, f"copying {name}")
        except StoreError:
            raise
        except Exception as error:
            raise StoreError(f"copying collection '{name}' failed ({_describe(error)}). Run the command again: "
                             "records already copied are skipped") from error
    try:
        # Documents first, so no reader sees a document whose chunks were just deleted.
        for name in (f"{collection}-documents", collection):
            if name not in destinations:
                continue
            stale = [i for i in _all_ids(destinations[name]) if i not in kept[name] and i != _GENERATION_ID]
            for start in range(0, len(stale), _WRITE_BATCH):
                destinations[name].delete(ids=stale[start:start + _WRITE_BATCH])
            report.removed += len(stale)
            if name == f"{collection}-documents" and generation is not None:
                present = destinations[name].get(ids=[_GENERATION_ID], include=["metadatas"])
                if report.copied or report.removed or present["metadatas"] != generation["metadatas"]:
                    destinations[name].upsert(**generation)
    except Exception as error:
        raise StoreError(f"removing what the source no longer has from the target failed ({_describe(error)}). "
                         "Run the command again: records already copied are skipped") from error
    return report


def _all_ids(collection: Any) -> list[str]:
    ids: list[str] = []
    while page := collection.get(include=[], limit=_PAGE, offset=len(ids))["ids"]:
        ids.extend(page)
    return ids
