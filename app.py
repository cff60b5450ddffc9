"""``python app.py``: the chat on the configured corpus (the shipped one by default)."""

from __future__ import annotations

import argparse
import logging
import sys

import rag  # noqa: F401  (sets the offline defaults before any model library loads)
from rag.assistant import Assistant
from rag.config import Settings, load_settings
from rag.errors import RagError
from rag.ingestion import Ingestor
from rag.ui import CSS, JS_HEAD, build_app

log = logging.getLogger("app")


def ensure_corpus(assistant: Assistant, settings: Settings) -> None:
    """On first run the store is empty: build it from the corpus folder, with a progress bar."""
    if assistant.store.list_documents():
        return
    from tqdm import tqdm
    print(f"First run: building the store from {settings.corpus_dir} …", file=sys.stderr)
    bar = tqdm(unit="chunk", desc="embedding", file=sys.stderr)

    def progress(done: int, total: int, what: str) -> None:
        bar.total = total
        bar.update(done - bar.n)

    ingestor = Ingestor(assistant.store, assistant.retriever.embeddings, settings)
    report = ingestor.ingest_paths([settings.corpus_dir], progress)
    bar.close()
    print(report.summary(), file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Start the chat server."""
    parser = argparse.ArgumentParser(description="Serve the chat.")
    parser.add_argument("--host", help="address to listen on (RAG_HOST; default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (RAG_PORT; default 7860)")
    parser.add_argument("--backend", dest="generator", choices=["llamacpp", "extractive", "openai"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings(host=args.host, port=args.port, generator=args.generator)
        assistant = Assistant.from_settings(settings)
        ensure_corpus(assistant, settings)
        app = build_app(assistant)
    except RagError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    app.queue(default_concurrency_limit=4).launch(
        server_name=settings.host, server_port=settings.port, show_error=False, css=CSS, head=JS_HEAD)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
