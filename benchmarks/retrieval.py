"""Retrieval benchmark on the eval suites: chunk size/overlap and retriever modes side by side.

    .venv/bin/python benchmarks/retrieval.py [--sizes 400/80,800/150] [--modes dense,bm25,hybrid]

For every answerable case (follow-ups searched the way the assistant searches them, with the
conversation's earlier question), it reports against the gold documents hit@1/5, MRR and
nDCG@10, and against the gold passages "evidence hit@5": the share of cases whose top 5
passages contain every evidence text. Latency is the p50 of one search, embedding included.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import rag  # noqa: E402,F401
from rag.config import load_settings  # noqa: E402
from rag.embedding import load_embeddings  # noqa: E402
from rag.ingestion import Ingestor  # noqa: E402
from rag.keyword import KeywordIndex  # noqa: E402
from rag.reranking import make_reranker  # noqa: E402
from rag.retrieval import Retriever  # noqa: E402
from rag.rewriting import ConcatenatingRewriter  # noqa: E402
from rag.wiring import open_store  # noqa: E402


def squash(text: str) -> str:
    return " ".join(text.split()).lower()


def load_cases(suite: str) -> list[dict]:
    cases = [json.loads(line) for line in (ROOT / "evals" / "suites" / f"{suite}.jsonl").read_text().splitlines() if line.strip()]
    return [c for c in cases if c.get("answerable") and c.get("doc_ids")]


def query_of(case: dict) -> str:
    if "turns" not in case:
        return case["question"]
    turns = case["turns"]
    history = [(q, "") for q in turns[:-1]]
    return ConcatenatingRewriter().rewrite(turns[-1], history)


def score(cases: list[dict], retriever: Retriever, rerank: object | None = None) -> dict:
    hit1 = hit5 = evidence5 = 0
    rr = ndcg = 0.0
    times = []
    for case in cases:
        started = time.perf_counter()
        hits = retriever.search(query_of(case), 10)
        times.append((time.perf_counter() - started) * 1000)
        docs = [h.chunk.doc_id for h in hits]
        gold = set(case["doc_ids"])
        first = next((i for i, d in enumerate(docs) if d in gold), None)
        hit1 += first == 0
        hit5 += first is not None and first < 5
        rr += 1 / (first + 1) if first is not None else 0
        seen: set[str] = set()
        dcg = 0.0
        for i, d in enumerate(docs):
            if d in gold and d not in seen:
                seen.add(d)
                dcg += 1 / math.log2(i + 2)
        ideal = sum(1 / math.log2(i + 2) for i in range(min(len(gold), 10)))
        ndcg += dcg / ideal
        top5 = squash(" ".join(h.chunk.text for h in hits[:5]))
        evidence5 += all(squash(e["text"]) in top5 for e in case["evidence"])
    n = len(cases)
    return {"n": n, "hit@1": hit1, "hit@5": hit5, "MRR": round(rr / n, 3), "nDCG@10": round(ndcg / n, 3),
            "evidence@5": evidence5, "p50_ms": round(statistics.median(times), 1)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="400/80,600/100,800/150")
    parser.add_argument("--modes", default="dense,bm25,hybrid,hybrid+rerank")
    parser.add_argument("--rerank-at", default="600/100", help="chunking at which the reranker is measured")
    parser.add_argument("--suites", default="seed,news")
    parser.add_argument("--embedding-model", default="all-MiniLM-L6-v2",
                        help="e.g. all-MiniLM-L6-v2-int8, to compare the int8 encoder with the default one")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "retrieval.json")
    args = parser.parse_args()
    embeddings = load_embeddings(args.embedding_model)
    corpora = {"seed": [ROOT / "corpus", ROOT / "evals" / "corpora" / "injection"],
               "news": [ROOT / "corpus", ROOT / "evals" / "corpora" / "news"]}
    rows = []
    for size_overlap in args.sizes.split(","):
        size, overlap = (int(x) for x in size_overlap.split("/"))
        for suite in args.suites.split(","):
            data_dir = Path(tempfile.mkdtemp(prefix="rag-retrieval-"))
            settings = load_settings(data_dir=data_dir, chunk_size=size, chunk_overlap=overlap, generator="extractive",
                                     embedding_model=args.embedding_model)
            store = open_store(settings, embeddings)
            started = time.perf_counter()
            ingested = Ingestor(store, embeddings, settings).ingest_paths(corpora[suite])
            ingest_s = round(time.perf_counter() - started, 1)
            cases = load_cases(suite)
            for mode in args.modes.split(","):
                if mode.endswith("+rerank") and size_overlap != args.rerank_at:
                    continue  # the reranker is compared at the default chunking only: it is slow
                base = mode.removesuffix("+rerank")
                keyword = KeywordIndex(data_dir / "kw") if base != "dense" else None
                reranker = make_reranker("mpnet", ROOT / ".rag" / "cache") if mode.endswith("+rerank") else None
                retriever = Retriever(store, embeddings, keyword, mode=base, candidates=settings.candidates,  # type: ignore[arg-type]
                                      fusion=settings.fusion, dense_weight=settings.dense_weight, reranker=reranker,
                                      rerank_candidates=settings.rerank_candidates)
                retriever.search("warm up", 5)
                row = {"suite": suite, "chunk": f"{size}/{overlap}", "mode": mode, "model": args.embedding_model,
                       "ingest_s": ingest_s, "chunks": ingested.added, **score(cases, retriever)}
                rows.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=2) + "\n")
    print("| suite | chunk size/overlap | retriever | hit@1 | hit@5 | MRR | nDCG@10 | evidence in top 5 | search p50 (ms) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        n = r["n"]
        print(f"| {r['suite']} | {r['chunk']} | {r['mode']} | {r['hit@1']}/{n} | {r['hit@5']}/{n} | {r['MRR']} | "
              f"{r['nDCG@10']} | {r['evidence@5']}/{n} | {r['p50_ms']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
