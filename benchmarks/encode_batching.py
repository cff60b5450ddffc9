"""Encoder batching: chunks per second of all-MiniLM-L6-v2 for (chunks per encode call, batch size).

    .venv/bin/python benchmarks/encode_batching.py

The same 768 real chunks (the 300 news articles, then module docstrings, default chunking) are
encoded under each setting, three interleaved rounds in one run (best kept); the first row is the old ingest setting (calls of 64, one
batch each), the baseline for the ratio. Results go to benchmarks/results/encode-batching.json.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

RESULTS = ROOT / "benchmarks" / "results" / "encode-batching.json"
SETTINGS = [(64, 64), (256, 4), (256, 8), (256, 16), (256, 32)]  # (chunks per call, batch size)
ROUNDS = 3  # settings interleaved, best round kept: the machine's speed drifts between rounds


def main() -> int:
    from scale import build_documents

    import rag  # noqa: F401  (sets the offline environment)
    from rag.chunking import chunk_document
    from rag.config import load_settings
    from rag.embedding import load_embeddings
    from rag.ingestion import passage_text

    settings = load_settings()
    documents, _ = build_documents(1500, settings.chunk_size, settings.chunk_overlap)
    chunks = [passage_text(c) for d in documents for c in chunk_document(d, settings.chunk_size, settings.chunk_overlap)]
    texts = chunks[:: max(1, len(chunks) // 768)][:768]
    model = load_embeddings(settings.embedding_model).inner._client  # type: ignore[attr-defined]
    model.encode(texts[:64], batch_size=8)  # warm-up
    best = {setting: 0.0 for setting in SETTINGS}
    for _ in range(ROUNDS):
        for per_call, batch in SETTINGS:
            started = time.perf_counter()
            for start in range(0, len(texts), per_call):
                model.encode(texts[start:start + per_call], batch_size=batch, normalize_embeddings=True)
            best[(per_call, batch)] = max(best[(per_call, batch)], len(texts) / (time.perf_counter() - started))
    rows = [{"chunks_per_call": c, "batch_size": b, "chunks_per_s": round(r, 1)} for (c, b), r in best.items()]
    for row in rows:
        row["ratio_to_64x64"] = round(row["chunks_per_s"] / rows[0]["chunks_per_s"], 2)
        print(f"{row['chunks_per_call']:>4} per call, batch {row['batch_size']:>3}: "
              f"{row['chunks_per_s']:6.1f} chunks/s  x{row['ratio_to_64x64']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"chunks": len(texts), "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
