"""Keyword search: an incremental BM25 index over chunk texts, derived from the store.

Chroma's own sparse/BM25 index is not available in the embedded build ("Sparse vector indexing
is not enabled in local"), and bm25s cannot add or remove documents without a full rebuild
(17 s at 100k chunks, measured here). So this index is ours: term frequencies live in
append-only sparse segments, a removal only marks rows dead, and document frequencies are
counted at query time over live rows, so every update is incremental.

The index is a cache of the store: ``sync`` compares the documents it holds with the store's
committed versions and applies the difference, so any number of processes (and a Chroma
server) share one truth. It is saved to disk after each change and reloaded at start: one file,
written under a name of its own and renamed into place, so two processes saving at once each
leave a whole index, and a reader loads a whole one or none. Failing to save it only costs a
rebuild later, so it is a warning, never an error.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import snowballstemmer
from scipy import sparse

from .types import Chunk

log = logging.getLogger(__name__)

_TOKEN = re.compile(r"\w+", re.UNICODE)
_STOPWORDS = frozenset("""a an and are as at be but by for if in into is it no not of on or such that the their
then there these they this to was will with""".split())
_stemmer = snowballstemmer.stemmer("english")
_FORMAT_VERSION = 2   # 2: one file (index.npz); 1 was a folder of files swapped by two renames
_INDEX_FILE = "index.npz"


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return str(_stemmer.stemWord(word))


def stem(word: str) -> str:
    """The Snowball (English) stem of a lower-cased word: "sanctioned" -> "sanction"."""
    return _stem(word)


def tokenize(text: str) -> list[str]:
    """Lower-cased, stemmed word tokens without stopwords (numbers kept: they matter in news)."""
    return [_stem(w) for w in _TOKEN.findall(text.lower()) if w not in _STOPWORDS]


def _searchable_text(chunk: Chunk) -> str:
    # The title helps a chunk that never names its subject ("It said ...").
    return f"{chunk.title}\n{chunk.text}"


class KeywordIndex:
    """BM25 (Okapi, k1/b) over chunks; add, remove and search without rebuilding."""

    def __init__(self, path: Path | None = None, k1: float = 1.2, b: float = 0.75) -> None:
        self.path = path
        self.k1, self.b = k1, b
        self._lock = threading.RLock()
        self._vocab: dict[str, int] = {}
        self._ids: list[str] = []
        self._docs: list[str] = []
        self._alive = np.zeros(0, dtype=bool)
        self._lengths = np.zeros(0, dtype=np.float32)
        self._segments: list[tuple[int, sparse.csc_matrix]] = []   # (first row, rows x terms)
        self._rows_of_doc: dict[str, list[int]] = {}
        self.versions: dict[str, str] = {}   # doc_id -> indexed version
        self.generation: str | None = None
        if path is not None and (path / _INDEX_FILE).exists():
            self._load_saved()

    # ----- updates -------------------------------------------------------------------------
    def add(self, chunks: Sequence[Chunk]) -> None:
        """Index chunks (callers remove a document's older version first)."""
        if not chunks:
            return
        with self._lock:
            rows, cols, counts, lengths = [], [], [], []
            for row, chunk in enumerate(chunks):
                tokens = tokenize(_searchable_text(chunk))
                lengths.append(len(tokens))
                tally: dict[int, int] = {}
                for token in tokens:
                    term = self._vocab.setdefault(token, len(self._vocab))
                    tally[term] = tally.get(term, 0) + 1
                rows.extend([row] * len(tally))
                cols.extend(tally.keys())
                counts.extend(tally.values())
            first = len(self._ids)
            matrix = sparse.csc_matrix((np.asarray(counts, dtype=np.float32), (rows, cols)),
                                       shape=(len(chunks), len(self._vocab)))
            self._segments.append((first, matrix))
            for offset, chunk in enumerate(chunks):
                self._ids.append(chunk.id)
                self._docs.append(chunk.doc_id)
                self._rows_of_doc.setdefault(chunk.doc_id, []).append(first + offset)
                self.versions[chunk.doc_id] = chunk.doc_version
            self._alive = np.concatenate([self._alive, np.ones(len(chunks), dtype=bool)])
            self._lengths = np.concatenate([self._lengths, np.asarray(lengths, dtype=np.float32)])
            self._maybe_compact()

    def remove_document(self, doc_id: str) -> None:
        """Forget a document's chunks."""
        with self._lock:
            for row in self._rows_of_doc.pop(doc_id, []):
                self._alive[row] = False
            self.versions.pop(doc_id, None)

    def sync(self, versions: dict[str, str], fetch: Callable[[list[str]], Iterable[Chunk]], generation: str) -> bool:
        """Bring the index to the store's committed ``versions``; ``fetch`` yields the chunks of
        the documents to (re)index. Returns True when anything changed."""
        with self._lock:
            if generation == self.generation:
                return False
            # Another process (an ingest) did the work; if its file is unreadable, do it here.
            if self._saved_generation() == generation and self._load_saved():
                return True
            stale = [d for d, v in self.versions.items() if versions.get(d) != v]
            missing = [d for d, v in versions.items() if self.versions.get(d) != v]
            for doc_id in stale:
                self.remove_document(doc_id)
            batch: list[Chunk] = []
            for chunk in fetch(missing) if missing else ():
                if versions.get(chunk.doc_id) == chunk.doc_version:
                    batch.append(chunk)
                if len(batch) >= 5000:
                    self.add(batch)
                    batch = []
            self.add(batch)
            for doc_id in missing:  # a document may legitimately have no chunks
                self.versions.setdefault(doc_id, versions[doc_id])
            self.generation = generation
            changed = bool(stale or missing)
            if changed or not (self.path and (self.path / _INDEX_FILE).exists()):
                self.save()
            return changed

    # ----- search --------------------------------------------------------------------------
    def search(self, query: str, k: int, doc_ids: set[str] | None = None) -> list[tuple[str, float]]:
        """Top-k (chunk id, BM25 score) for ``query``, optionally within some documents."""
        with self._lock:
            terms = [self._vocab[t] for t in dict.fromkeys(tokenize(query)) if t in self._vocab]
            live = int(self._alive.sum())
            if not terms or live == 0:
                return []
            avg_length = float(self._lengths[self._alive].mean()) or 1.0
            norm = self.k1 * (1.0 - self.b + self.b * self._lengths / avg_length)
            scores = np.zeros(len(self._ids), dtype=np.float32)
            for term in terms:
                rows, tfs = self._postings(term)
                keep = self._alive[rows]
                rows, tfs = rows[keep], tfs[keep]
                if rows.size == 0:
                    continue
                idf = np.log1p((live - rows.size + 0.5) / (rows.size + 0.5))
                # A row holds a term once (one chunk, one segment), so plain indexing adds safely
                # and is several times faster than np.add.at.
                scores[rows] += idf * tfs * (self.k1 + 1.0) / (tfs + norm[rows])
            if doc_ids is not None:
                allowed = np.zeros(len(self._ids), dtype=bool)
                for doc_id in doc_ids:
                    allowed[self._rows_of_doc.get(doc_id, [])] = True
                scores[~allowed] = 0.0
            hits = np.flatnonzero(scores > 0)
            if hits.size > k:
                hits = hits[np.argpartition(-scores[hits], k - 1)[:k]]
            hits = hits[np.argsort(-scores[hits], kind="stable")]
            return [(self._ids[i], float(scores[i])) for i in hits]

    def __len__(self) -> int:
        return int(self._alive.sum())

    def _postings(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        rows, tfs = [], []
        for first, matrix in self._segments:
            if term >= matrix.shape[1]:
                continue  # the term is newer than this segment
            lo, hi = matrix.indptr[term], matrix.indptr[term + 1]
            if hi > lo:
                rows.append(matrix.indices[lo:hi] + first)
                tfs.append(matrix.data[lo:hi])
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        return np.concatenate(rows).astype(np.int64), np.concatenate(tfs)

    # ----- maintenance ---------------------------------------------------------------------
    def _maybe_compact(self) -> None:
        dead = len(self._ids) - int(self._alive.sum())
        if len(self._segments) > 16 or (dead > 1000 and dead > 0.3 * len(self._ids)):
            self.compact()

    def compact(self) -> None:
        """Merge segments into one and drop dead rows."""
        with self._lock:
            width = len(self._vocab)
            blocks = [m.tocsr() for _, m in self._segments]
            blocks = [sparse.hstack([b, sparse.csr_matrix((b.shape[0], width - b.shape[1]))]).tocsr()
                      if b.shape[1] < width else b for b in blocks]
            merged = sparse.vstack(blocks).tocsr() if blocks else sparse.csr_matrix((0, width))
            keep = np.flatnonzero(self._alive)
            merged = merged[keep]
            self._ids = [self._ids[i] for i in keep]
            self._docs = [self._docs[i] for i in keep]
            self._lengths = self._lengths[keep]
            self._alive = np.ones(len(keep), dtype=bool)
            self._segments = [(0, merged.tocsc())] if len(keep) else []
            self._rows_of_doc = {}
            for row, doc_id in enumerate(self._docs):
                self._rows_of_doc.setdefault(doc_id, []).append(row)

    def save(self) -> bool:
        """Write the index to its file atomically; False, with a warning, if it cannot be written."""
        if self.path is None:
            return True
        with self._lock:
            self.compact()
            matrix = self._segments[0][1] if self._segments else sparse.csc_matrix((0, len(self._vocab)), dtype=np.float32)
            meta = {"format": _FORMAT_VERSION, "k1": self.k1, "b": self.b, "generation": self.generation,
                    "vocab": self._vocab, "ids": self._ids, "docs": self._docs, "versions": self.versions}
            tmp: str | None = None
            try:
                self.path.mkdir(parents=True, exist_ok=True)
                # A temporary name of this process's own: a shared one is what two saving processes raced on.
                fd, tmp = tempfile.mkstemp(prefix=f".{_INDEX_FILE}-", suffix=".tmp", dir=self.path)
                with os.fdopen(fd, "wb") as file:
                    np.savez(file, generation=_encoded(str(self.generation)), meta=_encoded(json.dumps(meta)),
                             data=matrix.data, indices=matrix.indices, indptr=matrix.indptr,
                             shape=np.asarray(matrix.shape, dtype=np.int64), lengths=self._lengths)
                os.replace(tmp, self.path / _INDEX_FILE)  # atomic: a reader opens the old file or the new
                tmp = None
            except OSError as error:
                log.warning("could not save the keyword index to %s (%s); it stays usable in this process and is "
                            "rebuilt from the store when needed", self.path, error)
                return False
            finally:
                if tmp is not None:
                    with contextlib.suppress(OSError):
                        os.unlink(tmp)
            return True

    def _saved_generation(self) -> str | None:
        """The generation of the saved index, read without loading the rest."""
        if self.path is None:
            return None
        try:
            with np.load(self.path / _INDEX_FILE, allow_pickle=False) as saved:
                return _decoded(saved["generation"])
        except Exception:  # missing or damaged: as if there were none
            return None

    def _load_saved(self) -> bool:
        """Replace this index by the saved one, whole; on any damage keep this one and say so."""
        assert self.path is not None
        try:
            state = _read_saved(self.path / _INDEX_FILE, self.k1, self.b)
        except Exception:  # a damaged cache is rebuilt from the store, never trusted in part
            log.warning("keyword index at %s is unreadable; rebuilding it from the store", self.path, exc_info=True)
            return False
        self._vocab, self._ids, self._docs = state.vocab, state.ids, state.docs
        self.versions, self.generation, self._lengths = state.versions, state.generation, state.lengths
        self._alive = np.ones(len(state.ids), dtype=bool)
        self._segments = [(0, state.matrix)] if state.ids else []
        self._rows_of_doc = {}
        for row, doc_id in enumerate(state.docs):
            self._rows_of_doc.setdefault(doc_id, []).append(row)
        return True


@dataclass(frozen=True)
class _Saved:
    vocab: dict[str, int]
    ids: list[str]
    docs: list[str]
    versions: dict[str, str]
    generation: str | None
    lengths: np.ndarray
    matrix: sparse.csc_matrix


def _read_saved(file: Path, k1: float, b: float) -> _Saved:
    """Everything of a saved index, checked to agree with itself, or an exception."""
    with np.load(file, allow_pickle=False) as saved:
        meta = json.loads(_decoded(saved["meta"]))
        if meta.get("format") != _FORMAT_VERSION or meta.get("k1") != k1 or meta.get("b") != b:
            raise ValueError("keyword index written with other settings")
        shape = tuple(int(n) for n in saved["shape"])
        matrix = sparse.csc_matrix((saved["data"], saved["indices"], saved["indptr"]), shape=shape)
        lengths = saved["lengths"]
    ids, docs = list(meta["ids"]), list(meta["docs"])
    if not (len(ids) == len(docs) == len(lengths) == matrix.shape[0]):
        raise ValueError("keyword index parts disagree in size")
    return _Saved(vocab=dict(meta["vocab"]), ids=ids, docs=docs, versions=dict(meta["versions"]),
                  generation=meta["generation"], lengths=lengths, matrix=matrix)


def _encoded(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def _decoded(array: np.ndarray) -> str:
    return array.tobytes().decode("utf-8")
