"""Scaling benchmark: ingest, store size, retrieval and ask latency, peak memory at ~1k, 10k and
100k chunks, for the embedded store and a Chroma server side by side.

    .venv/bin/python benchmarks/scale.py [--sizes 1000,10000,100000] [--stores embedded,server]
                                         [--interrupt-after S] [--server-by-copy]

Corpus (real text, no network): the shipped article and the 300 ABC news articles first, then
the docstrings of the installed Python packages (English technical prose), one document per
module, in a fixed order, until the target chunk count is reached. Each store is built in a child
process and measured in another (so each peak RSS is its own), and kept under
.rag/cache/bench/scale/ (git-ignored): a stopped run resumes where it was. ``--interrupt-after S``
kills each ingest S seconds in (SIGKILL, like a crash) and resumes it, recording what the resumed
run had to embed again; ``--server-by-copy`` fills the server with ``rag copy`` from the embedded
store instead of encoding everything again. Results go to benchmarks/results/scale.json and a
plot to docs/scale.png.
"""

from __future__ import annotations

import argparse
import ast
import json
import resource
import statistics
import subprocess
import sys
import time
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import chroma_server  # noqa: E402

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


BUILDS = ROOT / ".rag" / "cache" / "bench" / "scale"


def settings_for(work: Path, url: str | None):  # type: ignore[no-untyped-def]
    from rag.config import load_settings
    return load_settings(data_dir=work / "data", generator="extractive", chroma_url=url)


def build(size: int, store: str, work: Path) -> dict:
    """Ingest about ``size`` chunks into the store kept in ``work`` (resuming what is there), in
    this process; the raw-encode baseline is measured on a sample of the same chunks first."""
    import rag  # noqa: F401
    from rag.chunking import chunk_document
    from rag.embedding import load_embeddings
    from rag.ingestion import Ingestor, passage_text
    from rag.wiring import open_store

    with (chroma_server(work / "server-db") if store == "server" else nullcontext(None)) as url:
        settings = settings_for(work, url)
        embeddings = load_embeddings(settings.embedding_model, settings.embedding_batch_size)
        documents, _ = build_documents(size, settings.chunk_size, settings.chunk_overlap)
        sample = [passage_text(c) for d in documents for c in chunk_document(d, settings.chunk_size, settings.chunk_overlap)]
        sample = sample[:: max(1, len(sample) // 2000)][:2000]
        model = embeddings.inner._client
        model.encode(sample[:64], batch_size=settings.embedding_batch_size)
        started = time.perf_counter()
        model.encode(sample, batch_size=settings.embedding_batch_size, normalize_embeddings=True)
        encode_rate = len(sample) / (time.perf_counter() - started)
        chunk_store = open_store(settings, embeddings)
        print(f"INGEST-START {time.time()}", flush=True)  # the parent times an interrupted ingest from here
        started = time.perf_counter()
        report = Ingestor(chunk_store, embeddings, settings).ingest_documents(documents)
        ingest_s = time.perf_counter() - started
        return {"documents": len(documents), "embedded": report.added, "skipped": report.unchanged,
                "ingest_s": ingest_s, "encode_chunks_per_s": encode_rate, "chunks": chunk_store.count_chunks(),
                "build_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def measure(store: str, work: Path) -> dict:
    """Search and ask latency, keyword sync and peak memory on a built store, in this process."""
    import numpy as np

    import rag  # noqa: F401
    from rag.assistant import Assistant

    with (chroma_server(work / "server-db") if store == "server" else nullcontext(None)) as url:
        settings = settings_for(work, url)
        assistant = Assistant.from_settings(settings)
        started = time.perf_counter()
        assistant.retriever.sync_keyword_index()
        keyword_sync_s = time.perf_counter() - started
        questions = [json.loads(line) for line in (ROOT / "evals" / "suites" / "news.jsonl").read_text().splitlines() if line.strip()]
        queries = [q["question"] for q in questions if "question" in q]
        # Plus 100 queries made of the first words of random stored chunks (the corpus's own text).
        rng = np.random.default_rng(0)
        chunks = list(assistant.store.iter_chunks()) if assistant.store.count_chunks() <= 20_000 else \
            [c for c, _ in assistant.store.get_chunks(_sample_ids(assistant.store, rng))]
        for i in rng.choice(len(chunks), size=min(100, len(chunks)), replace=False):
            queries.append(" ".join(chunks[i].text.split()[:12]))
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
        return {
            "keyword_sync_s": round(keyword_sync_s, 2),
            "search_ms": {"p50": round(statistics.median(search_ms), 1), "p95": round(percentile(search_ms, 95), 1)},
            "retrieval_ms": {"p50": round(statistics.median(retrieve_ms), 1), "p95": round(percentile(retrieve_ms, 95), 1)},
            "ask_extractive_ms": {"p50": round(statistics.median(ask_ms), 1), "p95": round(percentile(ask_ms, 95), 1)},
            "queries": len(queries),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }


def _sample_ids(store, rng) -> list[str]:  # type: ignore[no-untyped-def]
    ids = store._chunks.get(include=[])["ids"]
    return [ids[i] for i in rng.choice(len(ids), size=300, replace=False)]


def child(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True)


def last_json(process: subprocess.Popen) -> dict:
    out, _ = process.communicate()
    if process.returncode:
        raise RuntimeError(f"benchmark child failed ({process.returncode})")
    return json.loads(out.strip().splitlines()[-1])


def build_row(size: int, store: str, work: Path, interrupt_after: float | None) -> dict:
    """Build (or finish building) one store; with ``interrupt_after``, kill the ingest that many
    seconds in (SIGKILL, as a crash) and resume it, recording what the resumed run redid."""
    row: dict = {"size": size, "store": store}
    ingest_s = 0.0
    if interrupt_after:
        process = child("--build", str(size), store, "--work", str(work))
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("INGEST-START"):
                began = float(line.split()[1])
                time.sleep(interrupt_after)
                process.kill()
                break
        process.wait()
        ingest_s += time.time() - began
        row["interrupted_after_s"] = round(time.time() - began, 1)
    built = last_json(child("--build", str(size), store, "--work", str(work)))
    ingest_s += built["ingest_s"]
    if interrupt_after:
        row["resume"] = {"skipped_chunks": built["skipped"], "embedded_chunks": built["embedded"]}
    row.update(documents=built["documents"], chunks=built["chunks"], ingest_s=round(ingest_s, 1),
               ingest_chunks_per_s=round(built["chunks"] / ingest_s, 1),
               encode_chunks_per_s=round(built["encode_chunks_per_s"], 1),
               ingest_over_encode=round(built["chunks"] / ingest_s / built["encode_chunks_per_s"], 3),
               build_peak_rss_mb=built["build_peak_rss_mb"])
    return row


def copy_row(size: int, work: Path, source_work: Path) -> dict:
    """A server store filled with ``rag copy`` from the embedded one (vectors copied, not re-embedded)."""
    with chroma_server(work / "server-db") as url:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "rag", "copy", "--to", url, "--data-dir", str(source_work / "data")],
                       cwd=ROOT, check=True, stderr=subprocess.DEVNULL)
        return {"size": size, "store": "server", "copied_from_embedded": True, "copy_s": round(time.perf_counter() - started, 1)}


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
            points = sorted((r["chunks"], _get(r, key)) for r in rows if r["store"] == store and _has(r, key))
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


def _has(row: dict, dotted: str) -> bool:
    return dotted.split(".")[0] in row


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
        if "ingest_s" in r:
            ingest = f"{r['ingest_s']} | {r['ingest_chunks_per_s']} | {r['ingest_over_encode']}"
        else:  # filled with `rag copy` from the embedded store: no encoding
            ingest = f"copied in {r['copy_s']} | – | –"
        lines.append(f"| {r['store']} | {r['chunks']:,} | {ingest} | "
                     f"{r['store_mb']} | {r['retrieval_ms']['p50']} / {r['retrieval_ms']['p95']} | "
                     f"{r['search_ms']['p50']} / {r['search_ms']['p95']} | {r['ask_extractive_ms']['p50']} / "
                     f"{r['ask_extractive_ms']['p95']} | {r['peak_rss_mb']} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--stores", default="embedded,server")
    parser.add_argument("--interrupt-after", type=float, metavar="S",
                        help="kill each ingest S seconds in and resume it (the resume must redo no finished work)")
    parser.add_argument("--server-by-copy", action="store_true",
                        help="fill the server store with `rag copy` from the embedded one instead of ingesting again")
    parser.add_argument("--build", nargs=2, metavar=("SIZE", "STORE"), help=argparse.SUPPRESS)
    parser.add_argument("--measure", metavar="STORE", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        print(json.dumps(build(int(args.build[0]), args.build[1], args.work)))
        return 0
    if args.measure:
        print(json.dumps(measure(args.measure, args.work)))
        return 0
    rows = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    for size in [int(s) for s in args.sizes.split(",")]:
        for store in args.stores.split(","):
            # Stores are kept (git-ignored) so that a stopped run resumes and can be measured again.
            work = BUILDS / f"{store}-{size}"
            work.mkdir(parents=True, exist_ok=True)
            if store == "server" and args.server_by_copy:
                row = copy_row(size, work, BUILDS / f"embedded-{size}")
                built = next(r for r in rows if r["size"] == size and r["store"] == "embedded")
                row.update(documents=built["documents"], chunks=built["chunks"])
            else:
                row = build_row(size, store, work, args.interrupt_after)
            row["store_mb"] = round(folder_bytes(work / "server-db" if store == "server" else work / "data" / "chroma") / 1e6, 1)
            row.update(last_json(child("--measure", store, "--work", str(work))))
            rows = [r for r in rows if not (r["size"] == size and r["store"] == store)] + [row]
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            RESULTS.write_text(json.dumps(rows, indent=2) + "\n")
            print(json.dumps(row), file=sys.stderr, flush=True)
    print(table(rows))
    plot(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
