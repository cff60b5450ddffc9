from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.assistant import open_store
from rag.chunking import chunk_document
from rag.ingestion import Ingestor
from rag.loading import load_file

from .conftest import SEED_ID, SEED_PATH


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
