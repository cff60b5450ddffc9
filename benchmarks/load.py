"""Load benchmark: many chat sessions at once against a real server on 127.0.0.1.

    .venv/bin/python benchmarks/load.py [--sessions 16] [--duration 60] [--backend extractive|llamacpp]
                                        [--no-stall-check] [--out benchmarks/results/load.json]

The server is the one ``python app.py`` starts (``app.serve``: the page of ``rag.ui.build_app``
and the queue as app.py sets it), on a free port, over a fresh store of the shipped corpus.
Every conversation of ``CONVERSATIONS`` (answerable, unanswerable, follow-ups, bad input) is
first asked by one user alone; then ``--sessions`` gradio_client sessions ask them round and
round for ``--duration`` seconds, each conversation in a fresh session. Reported: throughput,
p50/p95 latency (whole answer, and first streamed update), errors, and whether every answer under
load equals the lone user's answer to the same question.

The stall check (when the local LLM is installed) asks the LLM for answers and, while one is being
written, times extractive answers and page loads against the same server idle.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from gradio_client import Client  # noqa: E402

import app as app_module  # noqa: E402
from rag.assistant import Assistant  # noqa: E402
from rag.config import Settings, load_settings  # noqa: E402
from rag.ui.chat import Backends  # noqa: E402
from tests.servers import free_port  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "load.json"

# (kind, turns): each conversation starts in a fresh session; the kinds are reported apart.
CONVERSATIONS: list[tuple[str, list[str]]] = [
    ("answerable", ["What did Russia send Cuba and why?"]),
    ("answerable", ["Who ordered the delivery?"]),
    ("answerable", ["How many medical masks were in the cargo?"]),
    ("answerable", ["Which Russian products are driving the new wave of trade with Cuba?"]),
    ("unanswerable", ["What is the capital of France?"]),
    ("unanswerable", ["How many goals did Brazil score in the 2002 World Cup final?"]),
    ("follow-up", ["Who ordered the delivery of aid to Cuba?", "How many tons did the planes carry?"]),
    ("follow-up", ["What did Russia send to Cuba?", "Which planes carried it?"]),
    ("bad input", ["   "]),
    ("bad input", ["x" * 3000]),
    ("bad input", ["\x00\x01\x02 \x1b[31m ?!"]),
    ("other script", ["Что Россия отправила на Кубу?"]),
    ("other script", ["俄罗斯向古巴运送了什么？ 🚀"]),
]
_ANSWER_IDS = re.compile(r"src-\d+-")
_META = re.compile(r'<span class="rag-meta">.*?</span>', re.DOTALL)


@dataclass
class Turn:
    """One question asked, and what came back."""

    session: int
    conversation: int
    turn: int
    kind: str
    seconds: float
    first_update_s: float | None
    output: str
    error: str | None = None
    same_as_alone: bool | None = None


def normalise(html: str) -> str:
    """A rendered answer without what may differ between two identical answers: the page-wide
    ids of its source elements and the timing shown under it."""
    return _META.sub("", _ANSWER_IDS.sub("src-", html))


def ask_conversation(client: Client, index: int, backend: str | None, session: int = -1) -> list[Turn]:
    """Ask one conversation's turns in a fresh session of ``client``."""
    kind, turns = CONVERSATIONS[index]
    client.reset_session()
    done = []
    options = {"backend": backend} if backend else {}
    for number, question in enumerate(turns):
        started = time.perf_counter()
        first = None
        output, error = "", None
        try:
            job = client.submit(question, api_name="/chat", **options)
            for _ in job:
                if first is None:
                    first = time.perf_counter() - started
            output = str(job.outputs()[-1]) if job.outputs() else ""
        except Exception as exc:  # the benchmark counts it; the run goes on
            error = f"{type(exc).__name__}: {exc}"
        done.append(Turn(session, index, number, kind, time.perf_counter() - started, first, output, error))
    return done


def alone(url: str, backend: str | None) -> dict[tuple[int, int], str]:
    """Every conversation asked once by a single user: the answers load must reproduce."""
    client = Client(url, verbose=False)
    answers = {}
    for index in range(len(CONVERSATIONS)):
        for turn in ask_conversation(client, index, backend):
            if turn.error:
                question = CONVERSATIONS[index][1][turn.turn]
                raise RuntimeError(f"the single-user run failed on {question!r}: {turn.error}")
            answers[(index, turn.turn)] = normalise(turn.output)
    return answers


def drive(url: str, sessions: int, duration_s: float, backend: str | None,
          reference: dict[tuple[int, int], str]) -> tuple[list[Turn], float]:
    """``sessions`` users at once, each going round the conversations (starting at a different
    one) until ``duration_s`` has passed; returns every turn and the wall time taken."""
    clients = [Client(url, verbose=False) for _ in range(sessions)]
    start_line = threading.Barrier(sessions)
    deadline = [0.0]

    def user(session: int) -> list[Turn]:
        start_line.wait()
        deadline[0] = deadline[0] or time.monotonic() + duration_s
        turns: list[Turn] = []
        index = session % len(CONVERSATIONS)
        while time.monotonic() < deadline[0]:
            turns.extend(ask_conversation(clients[session], index, backend, session))
            index = (index + 1) % len(CONVERSATIONS)
        return turns

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=sessions) as pool:
        results = [turn for turns in pool.map(user, range(sessions)) for turn in turns]
    wall = time.monotonic() - started
    for turn in results:
        want = reference[(turn.conversation, turn.turn)]
        if turn.error is None and "rag-error" in turn.output and "rag-error" not in want:
            turn.error = re.sub(r"<[^>]+>", " ", turn.output).strip()
        turn.same_as_alone = turn.error is None and normalise(turn.output) == want
    for client in clients:
        client.close()
    return results, wall


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def _ms(values: Sequence[float]) -> dict[str, float]:
    return {"p50": round(percentile(values, 50) * 1000), "p95": round(percentile(values, 95) * 1000),
            "max": round(max(values) * 1000) if values else float("nan")}


def summarise(turns: list[Turn], wall_s: float) -> dict[str, Any]:
    """Throughput, latency percentiles, errors and agreement with the single-user answers."""
    errors = [t for t in turns if t.error]
    different = [t for t in turns if not t.error and not t.same_as_alone]
    kinds = {}
    for kind in dict.fromkeys(k for k, _ in CONVERSATIONS):
        of_kind = [t for t in turns if t.kind == kind]
        kinds[kind] = {"questions": len(of_kind), "latency_ms": _ms([t.seconds for t in of_kind])}
    return {
        "questions": len(turns),
        "wall_s": round(wall_s, 1),
        "throughput_per_s": round(len(turns) / wall_s, 2) if wall_s else 0.0,
        "latency_ms": _ms([t.seconds for t in turns]),
        "first_update_ms": _ms([t.first_update_s for t in turns if t.first_update_s is not None]),
        "errors": len(errors),
        "error_examples": sorted({t.error or "" for t in errors})[:5],
        "different_from_single_user": len(different),
        "different_examples": [CONVERSATIONS[t.conversation][1][t.turn][:80] for t in different[:5]],
        "identical_to_single_user": not errors and not different,
        "by_kind": kinds,
    }


def stall_check(url: str, probes: int = 5) -> dict[str, Any]:
    """While the local LLM writes an answer, time extractive answers and page loads, and compare
    them with the same requests on the idle server."""

    def page_load() -> float:
        started = time.perf_counter()
        for path in ("/", "/config"):
            httpx.get(url + path, timeout=120).raise_for_status()
        return time.perf_counter() - started

    def extractive(client: Client) -> float:
        started = time.perf_counter()
        client.predict("Who ordered the delivery?", backend="extractive", api_name="/chat")
        return time.perf_counter() - started

    probe = Client(url, verbose=False)
    idle_answers = [extractive(probe) for _ in range(probes)]
    idle_pages = [page_load() for _ in range(probes)]

    writers = [Client(url, verbose=False) for _ in range(2)]  # one writes, one waits its turn
    jobs = [w.submit("What did Russia send Cuba and why?", backend="llamacpp", api_name="/chat") for w in writers]
    started = time.perf_counter()
    while not any("rag-draft" in str(o) for o in jobs[0].outputs()) and not jobs[0].done():
        if time.perf_counter() - started > 600:
            raise RuntimeError("the LLM did not start writing within 10 minutes")
        time.sleep(0.05)
    writing_from = time.perf_counter()
    busy_answers, busy_pages = [], []
    while not jobs[0].done() and len(busy_answers) < probes:
        busy_answers.append(extractive(probe))
        busy_pages.append(page_load())
    all_during = not jobs[0].done()
    for job in jobs:
        job.result(timeout=900)
    return {
        "llm_busy_s": round(time.perf_counter() - writing_from, 1),  # from the first token to both answers
        "probes_while_writing": len(busy_answers),
        "all_probes_done_while_llm_writing": all_during,
        "extractive_answer_ms": {"idle": _ms(idle_answers), "llm_writing": _ms(busy_answers)},
        "page_load_ms": {"idle": _ms(idle_pages), "llm_writing": _ms(busy_pages)},
    }


def start_server(settings: Settings) -> tuple[str, Any, Assistant]:
    """The chat as ``python app.py`` serves it (building the store on first run), on ``settings.port``."""
    assistant = Assistant.from_settings(settings)
    app_module.ensure_corpus(assistant, settings)
    app = app_module.serve(assistant, settings, prevent_thread_lock=True, quiet=True)
    return f"http://127.0.0.1:{settings.port}", app, assistant


def run(settings: Settings, sessions: int, duration_s: float, backend: str = "extractive",
        check_stalls: bool = True) -> dict[str, Any]:
    """Start the server on ``settings``, run the single-user pass, the load and the stall check."""
    url, app, assistant = start_server(settings)
    try:
        choice = None if backend == assistant.generator.name else backend
        reference = alone(url, choice)
        turns, wall = drive(url, sessions, duration_s, choice, reference)
        report = {"backend": backend, "sessions": sessions, "duration_s": duration_s,
                  "conversations": len(CONVERSATIONS), **summarise(turns, wall)}
        llm_ready = "llamacpp" in Backends(assistant).available()
        report["stall_check"] = stall_check(url) if check_stalls and llm_ready else None
        return report
    finally:
        app.close()


def markdown(report: dict[str, Any]) -> str:
    """The report as Markdown tables."""
    lat, first = report["latency_ms"], report["first_update_ms"]
    lines = ["| backend | sessions | duration | questions | throughput | p50 | p95 | first update p50 | errors | "
             "same as single user |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
             f"| {report['backend']} | {report['sessions']} | {report['duration_s']:.0f} s | {report['questions']} | "
             f"{report['throughput_per_s']:.2f}/s | {lat['p50']} ms | {lat['p95']} ms | {first['p50']} ms | "
             f"{report['errors']} | {'yes' if report['identical_to_single_user'] else 'no'} |", "",
             "| kind | questions | p50 | p95 |", "|---|---:|---:|---:|"]
    for kind, row in report["by_kind"].items():
        lines.append(f"| {kind} | {row['questions']} | {row['latency_ms']['p50']} ms | {row['latency_ms']['p95']} ms |")
    stall = report.get("stall_check")
    if stall:
        lines += ["", f"While the local LLM wrote two answers (busy {stall['llm_busy_s']} s; "
                      f"{stall['probes_while_writing']} probes, all done while the first was being written: "
                      f"{'yes' if stall['all_probes_done_while_llm_writing'] else 'no'}):", "",
                  "| request | idle p50 | idle p95 | LLM writing p50 | LLM writing p95 |", "|---|---:|---:|---:|---:|"]
        for name, key in (("extractive answer", "extractive_answer_ms"), ("page load (/ and /config)", "page_load_ms")):
            idle, busy = stall[key]["idle"], stall[key]["llm_writing"]
            lines.append(f"| {name} | {idle['p50']} ms | {idle['p95']} ms | {busy['p50']} ms | {busy['p95']} ms |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=16, help="concurrent gradio_client sessions (default 16)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    parser.add_argument("--backend", choices=["extractive", "llamacpp"], default="extractive")
    parser.add_argument("--no-stall-check", dest="stall_check", action="store_false",
                        help="skip timing answers and page loads while the local LLM writes")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="rag-load-"))
    overrides: dict[str, Any] = {}
    if args.backend == "llamacpp" or args.stall_check:
        from rag.errors import RagError
        from rag.generation.llamacpp import ensure_default_model
        try:  # the user's assembled model (as `make model` leaves it), not a copy in the temp dir
            user = load_settings()
            overrides["llm_model_path"] = user.llm_model_path or ensure_default_model(user.cache_dir)
        except (ImportError, RagError) as error:
            if args.backend == "llamacpp":
                raise
            print(f"no stall check: the local LLM is not ready ({error})", file=sys.stderr)
    settings = load_settings(data_dir=data_dir, generator="extractive", port=free_port(), **overrides)
    try:
        report = run(settings, args.sessions, args.duration, args.backend, args.stall_check)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    report = {"command": " ".join(["benchmarks/load.py", *sys.argv[1:]]), "date": time.strftime("%Y-%m-%d"),
              "machine": {"cpus": _cpus(), "python": platform.python_version(), "system": platform.platform()},
              **report}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(markdown(report))
    print(f"\nwritten to {args.out}", file=sys.stderr)
    return 0 if report["identical_to_single_user"] else 1


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


if __name__ == "__main__":
    raise SystemExit(main())
