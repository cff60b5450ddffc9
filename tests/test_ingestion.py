from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from rag.chunking import chunk_document
from rag.errors import StoreError
from rag.ingestion import Ingestor
from rag.loading import load_file
from rag.types import SourceDocument
from rag.wiring import open_store

from .conftest import SEED_ID, SEED_PATH, make_settings


def ingestor(settings, embeddings) -> Ingestor:  # type: ignore[no-untyped-def]
    return Ingestor(open_store(settings, embeddings), embeddings, settings)


def store_snapshot(store) -> dict:  # type: ignore[no-untyped-def]
    documents = {d.doc_id: (d.version, d.chunk_count) for d in store.list_documents()}
    chunks = {}
    for doc_id in documents:
        for chunk in store.iter_chunks([doc_id]):
            chunks[chunk.id] = (chunk.doc_id, chunk.start, chunk.end, chunk.text)
    return {"documents": documents, "chunks": chunks, "records": store.count_chunks()}


def test_ingest_is_idempotent(settings, embeddings, corpus_dir: Path) -> None:  # type: ignore[no-untyped-def]
    shutil.copy(SEED_PATH, corpus_dir)
    first = ingestor(settings, embeddings).ingest_paths([corpus_dir])
    assert (first.documents, first.unchanged) == (1, 0) and first.added >= 4
    again = ingestor(settings, embeddings).ingest_paths([corpus_dir])
    assert (again.added, again.removed, again.unchanged_documents, again.unchanged) == (0, 0, 1, first.added)
    assert "0 added" in again.summary()
    store = open_store(settings, embeddings)
    assert store.count_chunks() == first.added


def test_changed_file_replaces_its_chunks(settings, embeddings, corpus_dir: Path) -> None:  # type: ignore[no-untyped-def]
    path = corpus_dir / "seed.txt"
    shutil.copy(SEED_PATH, path)
    ingest = ingestor(settings, embeddings)
    ingest.ingest_paths([path])
    path.write_text(path.read_text().replace("nearly 100 tons", "nearly 120 tons"))
    report = ingest.ingest_paths([path])
    assert report.added >= 1 and report.removed == report.added
    store = ingest.store
    texts = " ".join(c.text for c in store.iter_chunks([SEED_ID]))
    assert "nearly 120 tons" in texts and "nearly 100 tons" not in texts
    [document] = load_file(path)
    expected = chunk_document(document, settings.chunk_size, settings.chunk_overlap)
    assert store.count_chunks() == len(expected)
    for chunk in store.iter_chunks([SEED_ID]):
        assert document.text[chunk.start:chunk.end] == chunk.text
    stored = store.get_document(SEED_ID)
    assert stored is not None and stored.text == document.text


def test_uncommitted_chunks_are_invisible_and_cleaned_up(settings, embeddings) -> None:  # type: ignore[no-untyped-def]
    """What an ingest killed between writing chunks and committing leaves behind."""
    ingest = ingestor(settings, embeddings)
    [document] = load_file(SEED_PATH)
    chunks = chunk_document(document, settings.chunk_size, settings.chunk_overlap)
    ingest.store.write_chunks(chunks, embeddings.embed_documents([c.text for c in chunks]))
    assert ingest.store.count_chunks() == len(chunks)
    assert list(ingest.store.iter_chunks()) == []
    vector = embeddings.embed_query("humanitarian aid")
    nearest = [i for i, _, _ in ingest.store.nearest(vector, 5)]
    assert nearest and ingest.store.get_chunks(nearest) == []
    report = ingest.ingest_paths([SEED_PATH])  # the rerun reuses the written chunks
    assert report.added == 0 and report.unchanged == len(chunks)
    assert len(list(ingest.store.iter_chunks())) == len(chunks)


def test_remove_document(seed_settings, embeddings) -> None:  # type: ignore[no-untyped-def]
    ingest = ingestor(seed_settings, embeddings)
    assert ingest.remove(SEED_ID) >= 4
    assert ingest.store.list_documents() == [] and ingest.store.count_chunks() == 0
    with pytest.raises(Exception, match="no document"):
        ingest.remove(SEED_ID)


def test_sync_adds_updates_and_removes(settings, embeddings, corpus_dir: Path) -> None:  # type: ignore[no-untyped-def]
    (corpus_dir / "a.txt").write_text("Alpha council approved the bridge. It will open in May.")
    (corpus_dir / "b.txt").write_text("Beta club won the final. Fans celebrated all night.")
    ingest = ingestor(settings, embeddings)
    assert ingest.sync_folder(corpus_dir).documents == 2
    (corpus_dir / "b.txt").unlink()
    (corpus_dir / "a.txt").write_text("Alpha council rejected the bridge. It will not open.")
    (corpus_dir / "c.md").write_text("# Gamma\n\nGamma rays were detected.")
    report = ingest.sync_folder(corpus_dir)
    assert len(report.removed_documents) == 1 and report.unchanged_documents == 0
    titles = sorted(d.title for d in ingest.store.list_documents())
    assert titles == ["Alpha council rejected the bridge. It will not open.", "Gamma"]


def test_bad_files_do_not_stop_the_batch(settings, embeddings, corpus_dir: Path) -> None:  # type: ignore[no-untyped-def]
    (corpus_dir / "good.txt").write_text("The harbour reopened on Monday after repairs.")
    (corpus_dir / "empty.txt").write_text("")
    (corpus_dir / "garbage.txt").write_bytes(bytes(range(256)) * 20)
    report = ingestor(settings, embeddings).ingest_paths([corpus_dir])
    assert report.documents == 1
    assert sorted(Path(f.path).name for f in report.failed) == ["empty.txt", "garbage.txt"]


def test_a_store_refuses_a_different_embedding_model(seed_settings, embeddings) -> None:  # type: ignore[no-untyped-def]
    from rag.config import load_settings
    from rag.errors import StoreError
    other = load_settings(**{**seed_settings.model_dump(), "embedding_model": "all-MiniLM-L6-v2-int8"})
    with pytest.raises(StoreError, match="built with the embedding model 'all-MiniLM-L6-v2'"):
        open_store(other, embeddings)
    assert open_store(seed_settings, embeddings).list_documents()  # the configured model still opens it


def test_an_ingest_commits_even_when_the_keyword_cache_cannot_be_saved(tmp_path: Path, embeddings,  # type: ignore[no-untyped-def]
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    settings = make_settings(tmp_path / "data")
    settings.cache_dir.mkdir(parents=True)
    (settings.cache_dir / "keyword").write_text("a file where the cache folder should be")
    with caplog.at_level(logging.WARNING, logger="rag.keyword"):
        report = ingestor(settings, embeddings).ingest_paths([SEED_PATH])
    assert report.documents == 1 and "could not save the keyword index" in caplog.text
    assert [d.doc_id for d in open_store(settings, embeddings).list_documents()] == [SEED_ID]


def visible_and_whole(store, doc_id: str) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    """The committed version of a document, after checking every chunk of it is there and exact."""
    stored = store.get_document(doc_id)
    chunks = list(store.iter_chunks([doc_id]))
    assert stored is not None and len(chunks) == stored.chunk_count
    assert all(stored.text[c.start:c.end] == c.text for c in chunks)
    return stored.version, len(chunks)


def test_a_changed_document_stays_whole_until_its_new_version_commits(settings, embeddings) -> None:  # type: ignore[no-untyped-def]
    """Most chunks of an edited document are shared with its old version; the old version must
    keep all of them until the new one commits, however the ingest ends."""
    ingest = ingestor(settings, embeddings)
    ingest.ingest_paths([SEED_PATH])
    before = visible_and_whole(ingest.store, SEED_ID)
    [document] = load_file(SEED_PATH)
    edited = document.text.replace("nearly 100 tons", "nearly 120 tons")
    # A manifest Chroma refuses stops this ingest after the new chunks are written, before the commit.
    meta = {**document.metadata, "path": str(SEED_PATH.resolve()), "refused": {"not": "a scalar"}}
    with pytest.raises(StoreError):
        ingest.ingest_documents([SourceDocument(document.doc_id, document.title, document.source, edited, meta)])
    assert visible_and_whole(ingestor(settings, embeddings).store, SEED_ID) == before
    del meta["refused"]
    report = ingest.ingest_documents([SourceDocument(document.doc_id, document.title, document.source, edited, meta)])
    # Nothing is embedded again: the interrupted run's vector of the edited passage is reused too.
    assert (report.added, report.unchanged, report.removed) == (0, before[1], 1)
    version, count = visible_and_whole(ingest.store, SEED_ID)
    assert version != before[0] and ingest.store.count_chunks() == count  # the old version's records are gone
