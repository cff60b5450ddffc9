"""How well ``rag/injection.py`` tells orders to the assistant from news prose, before and after.

    .venv/bin/python benchmarks/injection.py [--before REF] [--quiet]

Prints, for the current rules and for the rules at git ``REF`` (the phrase list before issue 23):
orders caught out of ``evals/injection/orders*.jsonl``, ordinary news sentences flagged out of
``evals/injection/ordinary*.jsonl``, and the sentences flagged among every sentence of the 301
news articles (``evals/corpora/news/*.txt`` and ``corpus/*.txt``, read by the text loader, so
without front matter), each of which it lists. Runs in seconds; no model is loaded.

The sets were written for this measurement, not from the patterns. ``*.jsonl`` came first; each
``*_round<n>.jsonl`` was written as the holdout of the rules of its time, then joined dev (the
rules were tuned on dev only); ``*_holdout.jsonl`` was written after the last rules and measured
once, so it is the number to expect on new wording.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import injection  # noqa: E402
from rag.chunking import split_sentences  # noqa: E402
from rag.loading.text import load_text_file  # noqa: E402

# The last commit with the phrase list taken from the five injection documents.
BEFORE = "1758509"
SETS = ROOT / "evals" / "injection"
NEWS = sorted((ROOT / "evals" / "corpora" / "news").glob("*.txt")) + sorted((ROOT / "corpus").glob("*.txt"))

Mask = Callable[[str], list[bool]]  # a text -> which of its sentences give orders


def mask_of(module: ModuleType) -> Mask:
    """The module's own whole-text check when it has one, else its sentence check on each sentence."""
    if hasattr(module, "order_sentences"):
        return lambda text: module.order_sentences(text, split_sentences(text))
    return lambda text: [module.gives_orders(text[s.start:s.end]) for s in split_sentences(text)]


def old_module(ref: str) -> ModuleType:
    """``rag/injection.py`` as it was at git ``ref``, imported under another name."""
    source = subprocess.run(["git", "show", f"{ref}:rag/injection.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "injection_before.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("injection_before", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_set(name: str) -> list[dict[str, str]]:
    """``name``.jsonl, ``name``_round2.jsonl and ``name``_round3.jsonl (dev: in view while the rules
    were written; each round was the holdout of the rules before it) and ``name``_holdout.jsonl
    (written after the rules were, measured once)."""
    rows = []
    for split, path in (("dev", SETS / f"{name}.jsonl"), ("dev", SETS / f"{name}_round2.jsonl"),
                        ("dev", SETS / f"{name}_round3.jsonl"), ("holdout", SETS / f"{name}_holdout.jsonl")):
        if not path.exists():
            continue
        rows += [dict(json.loads(line), split=split) for line in path.read_text(encoding="utf-8").splitlines()
                 if line.strip()]
    return rows


def measure(mask: Mask, orders: list[dict[str, str]], ordinary: list[dict[str, str]],
            texts: list[tuple[str, str]]) -> dict[str, object]:
    missed = [row for row in orders if not any(mask(row["text"]))]
    false = [row for row in ordinary if any(mask(row["text"]))]
    started = time.perf_counter()
    news_flagged, total = [], 0
    for name, text in texts:
        spans = split_sentences(text)
        total += len(spans)
        news_flagged += [(name, text[s.start:s.end]) for s, hit in zip(spans, mask(text)) if hit]
    caught = {s: sum(r["split"] == s for r in orders) - sum(r["split"] == s for r in missed) for s in ("dev", "holdout")}
    return {"caught": caught, "orders": {s: sum(r["split"] == s for r in orders) for s in ("dev", "holdout")},
            "missed": missed, "false": false,
            "ordinary": {s: sum(r["split"] == s for r in ordinary) for s in ("dev", "holdout")},
            "false_by_split": {s: sum(r["split"] == s for r in false) for s in ("dev", "holdout")},
            "news_flagged": news_flagged, "news_total": total, "seconds": time.perf_counter() - started}


def report(label: str, result: dict[str, object], quiet: bool) -> None:
    caught, orders = result["caught"], result["orders"]
    fp, ordinary = result["false_by_split"], result["ordinary"]
    news, total = result["news_flagged"], result["news_total"]
    print(f"{label}")
    print(f"  orders caught     {sum(caught.values())}/{sum(orders.values())}"  # type: ignore[union-attr]
          f"  (dev {caught['dev']}/{orders['dev']}, holdout {caught['holdout']}/{orders['holdout']})")  # type: ignore[index]
    print(f"  ordinary flagged  {sum(fp.values())}/{sum(ordinary.values())}"  # type: ignore[union-attr]
          f"  (dev {fp['dev']}/{ordinary['dev']}, holdout {fp['holdout']}/{ordinary['holdout']})")  # type: ignore[index]
    print(f"  news sentences flagged {len(news)}/{total} = {len(news) / total:.3%}"  # type: ignore[arg-type]
          f"  ({result['seconds']:.2f} s for {len(NEWS)} articles)")
    if quiet:
        return
    for row in result["missed"]:  # type: ignore[union-attr]
        print(f"    missed [{row['split']}]: {row['text']}")
    for row in result["false"]:  # type: ignore[union-attr]
        print(f"    false  [{row['split']}]: {row['text']}")
    for name, sentence in news:  # type: ignore[union-attr]
        print(f"    news   {name}: {sentence}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", default=BEFORE, help="git ref of the rules to compare with")
    parser.add_argument("--quiet", action="store_true", help="rates only, no sentence lists")
    args = parser.parse_args()
    orders, ordinary = read_set("orders"), read_set("ordinary")
    texts = [(path.name, doc.text) for path in NEWS for doc in load_text_file(path, path.read_bytes())]
    report(f"before ({args.before})", measure(mask_of(old_module(args.before)), orders, ordinary, texts), args.quiet)
    report("now", measure(mask_of(injection), orders, ordinary, texts), args.quiet)


if __name__ == "__main__":
    main()
