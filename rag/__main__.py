"""``python -m rag``: the command line."""

from .cli import main

raise SystemExit(main())
