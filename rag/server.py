"""The chat server: ``rag chat`` and ``python app.py`` serve the configured corpus (the shipped one by default).

It listens on 127.0.0.1 unless told otherwise (``--host`` / ``RAG_HOST``), and refuses to listen
on any other address unless a user name and password are set in the environment
(``RAG_AUTH_USER`` / ``RAG_AUTH_PASSWORD``); the password is never printed or logged.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import Settings, load_settings
from .errors import ConfigError, RagError

if TYPE_CHECKING:  # the models and Gradio load when the server starts, not when the CLI builds its parser
    from .assistant import Assistant

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything


def auth_from(settings: Settings) -> tuple[str, str] | None:
    """The (user, password) pair for Gradio's login, or None when neither is set.

    Raises ConfigError when only one is set, or when the host is not loopback and neither is."""
    user = (settings.auth_user or "").strip()
    password = settings.auth_password.get_secret_value() if settings.auth_password else ""
    if bool(user) != bool(password):
        missing = "RAG_AUTH_PASSWORD" if user else "RAG_AUTH_USER"
        raise ConfigError(f"login is half configured: set {missing} too, or unset both")
    if not user:
        if not is_loopback(settings.host):
            raise ConfigError(f"refusing to listen on {settings.host} without a login: anyone who can reach it "
                              "could read and change the corpus. Set RAG_AUTH_USER and RAG_AUTH_PASSWORD in the "
                              "environment, or listen on 127.0.0.1")
        return None
    return user, password


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

    from .ingestion import Ingestor
    ingestor = Ingestor(assistant.store, assistant.retriever.embeddings, settings)
    report = ingestor.ingest_paths([settings.corpus_dir], progress)
    bar.close()
    print(report.summary(), file=sys.stderr)


def serve(assistant: Assistant, settings: Settings, **launch: Any) -> Any:
    """Build the page and its APIs for programs (``/v1`` OpenAI-compatible, ``/mcp``) and start
    the server with the access rules above; returns the app."""
    from .api import api_routes
    from .ui import build_app, launch_options
    from .ui.chat import Backends
    from .ui.guard import LoginLimiter
    auth = auth_from(settings)
    backends, logins = Backends(assistant), LoginLimiter()
    app = build_app(assistant, backends)
    routes, lifespan = api_routes(backends, auth, logins)
    if auth:
        log.info("login required (user %r)", auth[0])
    app.queue(default_concurrency_limit=4).launch(
        server_name=settings.host, server_port=settings.port, show_error=False, auth=auth,
        auth_message="Log in to ask the documents." if auth else None,
        **launch_options(settings, logins, routes, lifespan), **launch)
    return app


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of the chat server, shared by ``rag chat`` and ``python app.py``."""
    parser.add_argument("--host", help="address to listen on (RAG_HOST; default 127.0.0.1; another address "
                                       "needs RAG_AUTH_USER and RAG_AUTH_PASSWORD)")
    parser.add_argument("--port", type=int, help="port (RAG_PORT; default 7860)")
    parser.add_argument("--corpus-dir", type=Path, help="folder the store is built from on first run (RAG_CORPUS_DIR)")


def run(settings: Settings) -> None:
    """Check the access rules, build the store on first run, then serve until stopped."""
    from .assistant import Assistant
    auth_from(settings)  # refuse an unsafe address before loading any model
    assistant = Assistant.from_settings(settings)
    ensure_corpus(assistant, settings)
    serve(assistant, settings)


def main(argv: list[str] | None = None) -> int:
    """Start the chat server (``python app.py``)."""
    parser = argparse.ArgumentParser(description="Serve the chat.")
    add_arguments(parser)
    parser.add_argument("--backend", dest="generator", choices=["llamacpp", "extractive", "openai", "chat"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        run(load_settings(host=args.host, port=args.port, corpus_dir=args.corpus_dir, generator=args.generator))
    except RagError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
