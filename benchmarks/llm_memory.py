"""LLM memory benchmark: resident memory of a process answering many distinct questions, with
llama-cpp-python's own prompt-state RAM cache (the baseline) against ours, and with none.

    .venv/bin/python benchmarks/llm_memory.py [--questions 30] [--repeats 5] [--out benchmarks/results/llm-memory.json]

Each cache runs in its own process: the local LLM answers the news suite's first questions, each
from five passages of the news corpus (a sliding window, so that every prompt is distinct), then
the first few again (the cache's hits). Reported per cache: RSS after loading and at the end (peak),
the seconds per answer for new prompts and for repeats, and whether every answer equals the
uncached one. The library's cache counts only the KV state of what it keeps, not the copy of the
logits each state carries (~300 MB for a long prompt), so its 512 MB cap does not cap memory.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CACHES = ("none", "library", "bounded")
CAPACITY = 512 << 20


def rss_mb() -> float:
    """This process's resident memory now (Linux)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def run_one(cache: str, questions: int, repeats: int) -> dict:
    """Answer the questions with one kind of cache, in this process."""
    import rag  # noqa: F401
    from rag.chunking import chunk_document
    from rag.config import load_settings
    from rag.embedding import load_embeddings
    from rag.evaluation.suites import load_suite
    from rag.generation import make_generator
    from rag.generation.base import number_passages
    from rag.generation.llamacpp import bounded_ram_cache
    from rag.loading import discover, load_file

    settings = load_settings(generator="llamacpp")
    generator = make_generator(settings, load_embeddings(settings.embedding_model))
    client = generator.chat_model.client  # type: ignore[union-attr]
    if cache == "none":
        client.set_cache(None)
    elif cache == "library":
        from llama_cpp import LlamaRAMCache
        client.set_cache(LlamaRAMCache(capacity_bytes=CAPACITY))
    else:
        client.set_cache(bounded_ram_cache(CAPACITY))
    files = discover([ROOT / "evals" / "corpora" / "news"]).files
    chunks = [c for f in files[:60] for d in load_file(f)
              for c in chunk_document(d, settings.chunk_size, settings.chunk_overlap)]
    asked = [c.question for c in load_suite("news").cases if len(c.turns) == 1][:questions]
    loaded_mb = rss_mb()
    answers: list[str] = []
    seconds_new: list[float] = []
    seconds_repeat: list[float] = []
    order = list(range(len(asked))) + list(range(repeats))
    for number, index in enumerate(order):
        passages = number_passages(chunks[(5 * index) % len(chunks):][:5])
        started = time.perf_counter()
        answers.append("".join(generator.stream(asked[index], passages)))
        (seconds_new if number < len(asked) else seconds_repeat).append(time.perf_counter() - started)
        print(f"{cache}: {number + 1}/{len(order)} rss {rss_mb():.0f} MB", file=sys.stderr, flush=True)
    return {"cache": cache, "loaded_rss_mb": round(loaded_mb), "end_rss_mb": round(rss_mb()),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "new_prompt_s_p50": round(statistics.median(seconds_new), 2),
            "repeat_s_p50": round(statistics.median(seconds_repeat), 2) if seconds_repeat else None,
            "answers": answers}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--one", choices=CACHES, help=argparse.SUPPRESS)   # the child process
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "llm-memory.json")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.questions, args.repeats)))
        return 0
    rows = []
    for cache in CACHES:
        out = subprocess.run([sys.executable, __file__, "--one", cache, "--questions", str(args.questions),
                              "--repeats", str(args.repeats)], check=True, stdout=subprocess.PIPE, text=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    reference = rows[0]["answers"]
    for row in rows:
        row["answers_equal_uncached"] = f"{sum(a == b for a, b in zip(row.pop('answers'), reference))}/{len(reference)}"
    library = next(r for r in rows if r["cache"] == "library")
    for row in rows:
        row["rss_growth_mb"] = row["end_rss_mb"] - row["loaded_rss_mb"]
        row["peak_over_library"] = round(row["peak_rss_mb"] / library["peak_rss_mb"], 3)
    result = {"machine": f"{platform.machine()}, {platform.processor() or 'cpu'}", "capacity_mb": CAPACITY >> 20,
              "questions": args.questions, "repeats": args.repeats, "date": time.strftime("%Y-%m-%d"), "rows": rows}
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'cache':8} {'loaded MB':>9} {'peak MB':>8} {'growth MB':>9} {'new s':>6} {'repeat s':>8} {'equal':>6}")
    for r in rows:
        print(f"{r['cache']:8} {r['loaded_rss_mb']:9} {r['peak_rss_mb']:8} {r['rss_growth_mb']:9} "
              f"{r['new_prompt_s_p50']:6} {r['repeat_s_p50']!s:>8} {r['answers_equal_uncached']:>6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
