"""``python app.py``: the chat on the configured corpus, the same server as ``rag chat``.

The server lives in ``rag/server.py``; this file keeps ``make run`` and ``import app`` working.
"""

from __future__ import annotations

import rag  # noqa: F401  (sets the offline defaults before any model library loads)
from rag.assistant import Assistant
from rag.server import auth_from, ensure_corpus, is_loopback, main, run, serve

__all__ = ["Assistant", "auth_from", "ensure_corpus", "is_loopback", "main", "run", "serve"]

if __name__ == "__main__":
    raise SystemExit(main())
