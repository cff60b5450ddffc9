"""Pipeline benchmark: ingest throughput against raw ``encode`` on the same chunks, and the
latency of search and ask.

    .venv/bin/python benchmarks/pipeline.py [--llm] [--out benchmarks/results/pipeline.json]

Corpus: the shipped article and the 300 ABC news articles of the eval corpus. The baseline is
sentence-transformers' own ``encode`` of exactly the texts that ingestion embeds, in the same
process, measured before and after the ingest so that warm-up and noise show.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import rag  # noqa: E402,F401
from rag.assistant import Assistant  # noqa: E402
from rag.chunking import chunk_document  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.embedding import load_embeddings  # noqa: E402
from rag.ingestion import Ingestor, passage_text  # noqa: E402
from rag.loading import discover, load_file  # noqa: E402
from rag.wiring import open_store  # noqa: E402

QUESTIONS_FILE = ROOT / "evals" / "suites" / "news.jsonl"


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--llm", action="store_true", help="also time ask with the local LLM on the seed questions (slow)")
    parser.add_argument("--llm-questions", type=int, default=30, help="how many seed questions to time with the LLM")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "pipeline.json")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="rag-bench-"))
    settings = load_settings(data_dir=data_dir, generator="extractive")
    embeddings = load_embeddings(settings.embedding_model, settings.embedding_batch_size)
    model = embeddings.inner._client  # the SentenceTransformer behind LangChain's wrapper

    files = discover([ROOT / "corpus", ROOT / "evals" / "corpora" / "news"]).files
    documents = [d for f in files for d in load_file(f)]
    texts = [passage_text(c) for d in documents for c in chunk_document(d, settings.chunk_size, settings.chunk_overlap)]
    print(f"{len(documents)} documents, {len(texts)} chunks", file=sys.stderr)

    model.encode(texts[:64], batch_size=settings.embedding_batch_size)  # warm-up

    def raw_encode() -> float:
        started = time.perf_counter()
        model.encode(texts, batch_size=settings.embedding_batch_size, normalize_embeddings=True)
        return len(texts) / (time.perf_counter() - started)

    encode_before = raw_encode()
    store = open_store(settings, embeddings)
    started = time.perf_counter()
    report = Ingestor(store, embeddings, settings).ingest_documents(documents)
    ingest_rate = report.added / (time.perf_counter() - started)
    encode_after = raw_encode()
    encode_rate = (encode_before + encode_after) / 2

    questions = [json.loads(line) for line in QUESTIONS_FILE.read_text().splitlines() if line.strip()]
    questions = [q["question"] for q in questions if "question" in q]
    assistant = Assistant.from_settings(settings)
    assistant.retriever.search("warm up", 5)
    search_ms = []
    for question in questions:
        started = time.perf_counter()
        assistant.retriever.search(question, settings.top_k)
        search_ms.append((time.perf_counter() - started) * 1000)
    ask_ms = []
    for question in questions:
        started = time.perf_counter()
        assistant.ask(question)
        ask_ms.append((time.perf_counter() - started) * 1000)

    results = {
        "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
        "corpus": {"documents": len(documents), "chunks": len(texts), "chunk_size": settings.chunk_size},
        "encode_chunks_per_s": round(encode_rate, 1),
        "encode_runs_chunks_per_s": [round(encode_before, 1), round(encode_after, 1)],
        "ingest_chunks_per_s": round(ingest_rate, 1),
        "ingest_over_encode": round(ingest_rate / encode_rate, 3),
        "search_ms": {"p50": round(statistics.median(search_ms), 1), "p95": round(percentile(search_ms, 95), 1), "n": len(search_ms)},
        "ask_extractive_ms": {"p50": round(statistics.median(ask_ms), 1), "p95": round(percentile(ask_ms, 95), 1), "n": len(ask_ms)},
    }
    if args.llm:
        # The generation issue's goals: sources 0.5 s, first token 4 s, full answer 12 s (p50/p95).
        seed = [json.loads(line) for line in (ROOT / "evals" / "suites" / "seed.jsonl").read_text().splitlines() if line.strip()]
        seed_questions = [c["question"] for c in seed if "question" in c][: args.llm_questions]
        llm_settings = load_settings(data_dir=Path(tempfile.mkdtemp(prefix="rag-bench-llm-")), generator="llamacpp")
        Ingestor(open_store(llm_settings, embeddings), embeddings, llm_settings).ingest_paths([ROOT / "corpus"])
        llm = Assistant.from_settings(llm_settings)
        llm.ask(seed_questions[0])  # load the model and warm its prompt cache
        stages: dict[str, list[float]] = {"to_sources": [], "to_first_token": [], "total": []}
        for question in seed_questions:
            timings = llm.ask(question).timings_ms
            for stage in stages:
                if stage in timings:
                    stages[stage].append(timings[stage])
        results["ask_llm_ms"] = {stage: {"p50": round(statistics.median(v), 1), "p95": round(percentile(v, 95), 1), "n": len(v)}
                                 for stage, v in stages.items() if v}

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    print(f"\n| chunks | raw encode (chunks/s) | ingest (chunks/s) | ingest / encode | search p50 / p95 (ms) | ask p50 / p95 (ms, extractive) |\n"
          f"|---|---|---|---|---|---|\n| {len(texts)} | {encode_rate:.1f} | {ingest_rate:.1f} | {ingest_rate / encode_rate:.2f} | "
          f"{results['search_ms']['p50']} / {results['search_ms']['p95']} | {results['ask_extractive_ms']['p50']} / {results['ask_extractive_ms']['p95']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
