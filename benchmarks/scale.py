"""Scaling benchmark: ingest, store size, retrieval and ask latency, peak memory at ~1k, 10k and
100k chunks, for the embedded store and a Chroma server side by side.

    .venv/bin/python benchmarks/scale.py [--sizes 1000,10000,100000] [--stores embedded,server]

Corpus (real text, no network): the shipped article and the 300 ABC news articles first, then
the docstrings of the installed Python packages (English technical prose), one document per
module, in a fixed order, until the target chunk count is reached. Each (size, store) runs in
its own process so that peak RSS is that run's own. Results go to benchmarks/results/scale.json
and a plot to docs/scale.png.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "benchmarks" / "results" / "scale.json"
PLOT = ROOT / "docs" / "scale.png"


def docstring_documents():  # type: ignore[no-untyped-def]
    """Module documents made of the docstrings in site-packages, in a stable order.

    Parsing every module takes minutes, so the extracted text is cached as JSON Lines."""
    from rag.types import SourceDocument
    cache = ROOT / ".rag" / "cache" / "bench" / "docstrings.jsonl"
    if not cache.exists():
        site = Path(sys.prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(".partial")
        with open(partial, "w") as out:
            for path in sorted(site.rglob("*.py")):
                try:
                    tree = ast.parse(path.read_text(encoding="utf-8", errors="ignore"))
                except (SyntaxError, ValueError, RecursionError):
                    continue
                parts = [doc.strip() for node in ast.walk(tree)
                         if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                         and (doc := ast.get_docstring(node)) and len(doc) > 200]
                if parts:
                    module = ".".join(path.relative_to(site).with_suffix("").parts)
                    out.write(json.dumps({"module": module, "path": path.as_uri(), "text": "\n\n".join(parts)}) + "\n")
        partial.replace(cache)
    with open(cache) as lines:
        for line in lines:
            record = json.loads(line)
            yield SourceDocument(doc_id=f"py-{record['module']}"[:200], title=record["module"], source=record["path"],
                                 text=record["text"], metadata={"format": "text"})


def build_documents(target_chunks: int, chunk_size: int, chunk_overlap: int):  # type: ignore[no-untyped-def]
    """Real documents whose chunks add up to about ``target_chunks``."""
    from rag.chunking import chunk_document
    from rag.loading import discover, load_file
    files = discover([ROOT / "corpus", ROOT / "evals" / "corpora" / "news"]).files
    documents, count = [], 0
    sources = [d for f in files for d in load_file(f)]
    for document in [*sources, *docstring_documents()]:
        chunks = len(chunk_document(document, chunk_size, chunk_overlap))
        if count + chunks > target_chunks * 1.02 and count >= target_chunks * 0.98:
            break
        documents.append(document)
        count += chunks
        if count >= target_chunks:
            break
    return documents, count


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_one(size: int, store: str, work: Path) -> dict:
    """One (size, store) measurement, in this process."""
    import numpy as np
    import rag  # noqa: F401
    from rag.assistant import Assistant, open_store
    from rag.config import load_settings
    from rag.embedding import load_embeddings
    from rag.ingestion import Ingestor, passage_text
    from rag.chunking import chunk_document

    server = None
    server_path = work / "server-db"
    overrides: dict = {"data_dir": work / "data", "generator": "extractive"}
    if store == "server":
        port = free_port()
        server = subprocess.Popen([str(Path(sys.executable).with_name("chroma")), "run", "--path", str(server_path),
                                   "--host", "127.0.0.1", "--port", str(port)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.5)
        overrides["chroma_url"] = f"http://127.0.0.1:{port}"
    try:
        settings = load_settings(**overrides)
        embeddings = load_embeddings(settings.embedding_model, settings.embedding_batch_size)
        documents, chunk_count = build_documents(size, settings.chunk_size, settings.chunk_overlap)
        # Raw encode of a sample of the same chunk texts, in this run: the baseline for the ratio.
        sample = [passage_text(c) for d in documents for c in chunk_document(d, settings.chunk_size, settings.chunk_overlap)]
        sample = sample[:: max(1, len(sample) // 2000)][:2000]
        model = embeddings.inner._client
        model.encode(sample[:64], batch_size=settings.embedding_batch_size)
        started = time.perf_counter()
        model.encode(sample, batch_size=settings.embedding_batch_size, normalize_embeddings=True)
        encode_rate = len(sample) / (time.perf_counter() - started)

        chunk_store = open_store(settings, embeddings)
        started = time.perf_counter()
        report = Ingestor(chunk_store, embeddings, settings).ingest_documents(documents)
        ingest_s = time.perf_counter() - started

        assistant = Assistant.from_settings(settings)
        started = time.perf_counter()
        assistant.retriever.sync_keyword_index()
        keyword_sync_s = time.perf_counter() - started
        questions = [json.loads(line) for line in (ROOT / "evals" / "suites" / "news.jsonl").read_text().splitlines() if line.strip()]
        queries = [q["question"] for q in questions if "question" in q]
        rng = np.random.default_rng(0)
        texts = [d.text for d in documents]
        for i in rng.choice(len(texts), size=min(100, len(texts)), replace=False):
            words = texts[i].split()
            queries.append(" ".join(words[:12]))
        for q in queries[:5]:
            assistant.retriever.search(q, 5)
        search_ms, retrieve_ms = [], []
        for q in queries:
            trace: dict = {}
            started = time.perf_counter()
            assistant.retriever.search(q, 5, trace=trace)
            search_ms.append((time.perf_counter() - started) * 1000)
            retrieve_ms.append(trace["timings"]["total_ms"] - trace["timings"]["embed_ms"])
        ask_ms = []
        for q in queries[:60]:
            started = time.perf_counter()
            assistant.ask(q)
            ask_ms.append((time.perf_counter() - started) * 1000)
        disk = folder_bytes(server_path if store == "server" else settings.store_dir)
        return {
            "size": size, "store": store, "documents": len(documents), "chunks": report.added,
            "ingest_s": round(ingest_s, 1), "ingest_chunks_per_s": round(report.added / ingest_s, 1),
            "encode_chunks_per_s": round(encode_rate, 1), "ingest_over_encode": round(report.added / ingest_s / encode_rate, 3),
            "store_mb": round(disk / 1e6, 1), "keyword_sync_s": round(keyword_sync_s, 2),
            "search_ms": {"p50": round(statistics.median(search_ms), 1), "p95": round(percentile(search_ms, 95), 1)},
            "retrieval_ms": {"p50": round(statistics.median(retrieve_ms), 1), "p95": round(percentile(retrieve_ms, 95), 1)},
            "ask_extractive_ms": {"p50": round(statistics.median(ask_ms), 1), "p95": round(percentile(ask_ms, 95), 1)},
            "queries": len(queries),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)


def plot(rows: list[dict]) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    metrics = [("ingest_s", "ingest time (s)"), ("retrieval_ms.p95", "retrieval p95 (ms)"),
               ("search_ms.p95", "search p95 incl. query embedding (ms)"), ("store_mb", "store on disk (MB)"),
               ("peak_rss_mb", "peak RSS (MB)")]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.4))
    for ax, (key, label) in zip(axes, metrics):
        for store, marker in (("embedded", "o-"), ("server", "s--")):
            points = sorted((r["chunks"], _get(r, key)) for r in rows if r["store"] == store)
            if points:
                ax.plot([p[0] for p in points], [p[1] for p in points], marker, label=store)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("chunks")
        ax.set_title(label, fontsize=10)
        ax.grid(True, which="both", alpha=.3)
    axes[0].legend()
    fig.tight_layout()
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(PLOT, dpi=110)


def _get(row: dict, dotted: str) -> float:
    value: object = row
    for part in dotted.split("."):
        value = value[part]  # type: ignore[index]
    return float(value)  # type: ignore[arg-type]


def table(rows: list[dict]) -> str:
    lines = ["| store | chunks | ingest (s) | chunks/s | ingest / raw encode | store (MB) | retrieval p50/p95 (ms) | "
             "search incl. embedding p50/p95 (ms) | ask p50/p95 (ms, extractive) | peak RSS (MB) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["store"], r["chunks"])):
        lines.append(f"| {r['store']} | {r['chunks']:,} | {r['ingest_s']} | {r['ingest_chunks_per_s']} | {r['ingest_over_encode']} | "
                     f"{r['store_mb']} | {r['retrieval_ms']['p50']} / {r['retrieval_ms']['p95']} | "
                     f"{r['search_ms']['p50']} / {r['search_ms']['p95']} | {r['ask_extractive_ms']['p50']} / "
                     f"{r['ask_extractive_ms']['p95']} | {r['peak_rss_mb']} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--stores", default="embedded,server")
    parser.add_argument("--one", nargs=2, metavar=("SIZE", "STORE"), help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(int(args.one[0]), args.one[1], args.work)))
        return 0
    rows = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    for size in [int(s) for s in args.sizes.split(",")]:
        for store in args.stores.split(","):
            work = Path(tempfile.mkdtemp(prefix=f"rag-scale-{store}-{size}-"))
            try:
                out = subprocess.run([sys.executable, __file__, "--one", str(size), store, "--work", str(work)],
                                     capture_output=True, text=True, check=True).stdout
                row = json.loads(out.strip().splitlines()[-1])
            finally:
                shutil.rmtree(work, ignore_errors=True)
            rows = [r for r in rows if not (r["size"] == size and r["store"] == store)] + [row]
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            RESULTS.write_text(json.dumps(rows, indent=2) + "\n")
            print(json.dumps(row), file=sys.stderr, flush=True)
    print(table(rows))
    plot(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
