"""The faithfulness suite: does verification keep the sentences a passage supports, and only those?

``evals/faithfulness/{dev,holdout}.jsonl`` hold labelled (sentence, passage) pairs (schema and kinds in
``evals/faithfulness/README.md``). Each sentence is verified as the assistant verifies an answer: the
sentence cites passage [1], the passage is all there is, and the question is given. A sentence that
survives verification counts as kept.

- **caught**: unsupported sentences the verifier dropped / unsupported sentences (the promise);
- **kept**: supported sentences the verifier kept / supported sentences (the cost of the promise).

Both are reported overall and per kind, with the checks that fired, so a rule that catches one kind
by dropping another shows up at once.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from ..generation.base import Passage
from ..types import Chunk
from ..verification import Verifier
from .suites import ROOT, load_corpus

FAITHFULNESS_DIR = ROOT / "evals" / "faithfulness"
CORPUS_FOLDERS = ("corpus", "evals/corpora/news", "evals/corpora/injection")


@dataclass(frozen=True)
class Item:
    """One labelled pair."""

    id: str
    doc_id: str
    passage: str
    question: str
    sentence: str
    supported: bool
    kind: str
    origin: str = "written"


def load_items(split: str, folder: Path = FAITHFULNESS_DIR) -> list[Item]:
    """The items of ``dev`` or ``holdout``."""
    items = []
    for line in (folder / f"{split}.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            data = json.loads(line)
            items.append(Item(data["id"], data["doc_id"], data["passage"], data.get("question", ""), data["sentence"],
                              bool(data["supported"]), data["kind"], data.get("origin", "written")))
    return items


def document_texts(folders: Sequence[str] = CORPUS_FOLDERS) -> dict[str, str]:
    """doc_id -> text, as ingestion loads it, for the documents the items cite."""
    return load_corpus(tuple(folders), [])


def judge(verifier: Verifier, item: Item, document: str | None) -> dict[str, Any]:
    """Verify one item's sentence against its passage; the record of what happened."""
    start = document.find(item.passage) if document else -1
    chunk = Chunk(id=f"{item.id}-passage", doc_id=item.doc_id, title="", source="", text=item.passage,
                  start=max(start, 0), end=max(start, 0) + len(item.passage), index=0, doc_version="")
    verified = verifier.verify(f"{item.sentence} [1]", [Passage(1, chunk)], item.question)
    verdict = verified.verdicts[0] if verified.verdicts else None
    kept = not verified.declined and bool(verified.citations)
    return {"id": item.id, "kind": item.kind, "supported": item.supported, "kept": kept,
            "right": kept == item.supported, "status": verdict.status if verdict else "dropped before checks",
            "failed_checks": list(getattr(verdict, "failed", ()) or ()), "origin": item.origin}


def run(verifier: Verifier, split: str) -> dict[str, Any]:
    """Every item of a split: per-item records, and caught/kept overall and per kind."""
    texts = document_texts()
    records = [judge(verifier, item, texts.get(item.doc_id)) for item in load_items(split)]
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_kind[record["kind"]].append(record)
    unsupported = [r for r in records if not r["supported"]]
    supported = [r for r in records if r["supported"]]
    return {"split": split, "items": len(records),
            "caught": [sum(not r["kept"] for r in unsupported), len(unsupported)],
            "kept": [sum(r["kept"] for r in supported), len(supported)],
            "per_kind": {kind: {"supported": rs[0]["supported"], "right": sum(r["right"] for r in rs), "items": len(rs),
                                "checks": dict(Counter(c for r in rs for c in r["failed_checks"]))}
                         for kind, rs in sorted(by_kind.items())},
            "records": records}


def summary(result: dict[str, Any]) -> str:
    """The table the CLI prints."""
    caught, kept = result["caught"], result["kept"]
    lines = [f"faithfulness, {result['split']} split, {result['items']} items",
             f"  unsupported sentences caught: {caught[0]}/{caught[1]} ({caught[0] / max(caught[1], 1):.1%})",
             f"  supported sentences kept:     {kept[0]}/{kept[1]} ({kept[0] / max(kept[1], 1):.1%})", "",
             f"  {'kind':<26}{'label':<13}{'right':>8}  checks that fired"]
    for kind, row in result["per_kind"].items():
        checks = ", ".join(f"{k} {v}" for k, v in sorted(row["checks"].items())) or "–"
        label = "supported" if row["supported"] else "unsupported"
        lines.append(f"  {kind:<26}{label:<13}{row['right']:>3}/{row['items']:<4}  {checks}")
    return "\n".join(lines)
