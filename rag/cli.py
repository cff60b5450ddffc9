"""The command line (``rag`` or ``python -m rag``): ingest, sync, list, remove, search, ask, model, copy, eval, chat.

This is the only place (with the chat) that turns project errors into messages and exit codes.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any, Sequence

from .config import Settings, load_settings
from .errors import InputError, RagError

log = logging.getLogger(__name__)

EXIT_ERROR, EXIT_USAGE = 1, 2


def _settings_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("settings (override RAG_* variables)")
    group.add_argument("--data-dir", type=Path, help="store and caches (RAG_DATA_DIR)")
    group.add_argument("--collection", help="Chroma collection (RAG_COLLECTION)")
    group.add_argument("--chroma-url", help="use a Chroma server, e.g. http://127.0.0.1:8000 (RAG_CHROMA_URL)")
    group.add_argument("--retriever", choices=["hybrid", "dense", "bm25"], help="(RAG_RETRIEVER)")
    group.add_argument("--backend", dest="generator", choices=["llamacpp", "extractive", "openai", "chat"],
                       help="answer generator (RAG_GENERATOR)")
    group.add_argument("--chunk-size", type=int, help="characters per chunk (RAG_CHUNK_SIZE)")
    group.add_argument("--chunk-overlap", type=int, help="characters shared by neighbouring chunks (RAG_CHUNK_OVERLAP)")
    group.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")


def _filter_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--k", "--top-k", dest="top_k", type=int, help="passages to use (RAG_TOP_K)")
    parser.add_argument("--doc", action="append", default=[], metavar="DOC_ID", help="only these documents (repeatable)")
    parser.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", help="only documents dated on/after")
    parser.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", help="only documents dated on/before")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def build_parser(prog: str = "python -m rag") -> argparse.ArgumentParser:
    """The argument parser of ``python -m rag`` (``rag`` when installed)."""
    parser = argparse.ArgumentParser(prog=prog, description="Grounded, cited answers from your documents.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("ingest", help="add files, folders or web pages to the store")
    p.add_argument("paths", nargs="+", metavar="PATH", help="files, folders (recursive) or http(s) URLs")
    _settings_flags(p)

    p = commands.add_parser("sync", help="make the store match a folder (add, update, remove)")
    p.add_argument("folder", type=Path)
    _settings_flags(p)

    p = commands.add_parser("list", help="list the documents in the store")
    p.add_argument("--json", action="store_true")
    _settings_flags(p)

    p = commands.add_parser("remove", help="remove a document by id, path or URL (an e-mail with its attachments)")
    p.add_argument("doc", metavar="DOC")
    _settings_flags(p)

    p = commands.add_parser("search", help="show the passages retrieved for a query")
    p.add_argument("query", help="the query, or - to read one per line from stdin")
    _filter_flags(p)
    _settings_flags(p)

    p = commands.add_parser("ask", help="answer a question with citations")
    p.add_argument("question", help="the question, or - to read one per line from stdin")
    _filter_flags(p)
    _settings_flags(p)

    p = commands.add_parser("model", help="assemble and check the default local LLM (once; cached)")
    _settings_flags(p)

    p = commands.add_parser("copy", help="copy the corpus, vectors included, to a Chroma server or another data folder",
                            description="Copy the configured corpus (chunks, vectors, documents) to a Chroma server "
                                        "(--to http://host:port) or another data folder, without re-embedding. "
                                        "Run it again to bring changed documents over and drop removed ones; "
                                        "after an interruption, copied records are skipped.")
    p.add_argument("--to", required=True, dest="target", help="a Chroma server URL or a data folder")
    _settings_flags(p)

    p = commands.add_parser("eval", help="run evaluation suites, configurations side by side, and write a report",
                            description="Run suites (evals/suites/*.jsonl) with several configurations, print one "
                                        "table per suite, and write evals/reports/<UTC time>/ (and latest/). "
                                        "Metrics: docs/METRICS.md.")
    p.add_argument("--suite", action="append", metavar="NAME", help="suite name or .jsonl path; repeatable or "
                   "comma-separated (default: the suites of --split)")
    p.add_argument("--split", choices=["dev", "holdout", "all"], default="all", help="without --suite: the dev suites "
                   "(seed, news: tune on these), the frozen holdouts (seed-holdout, news-holdout: run to report), "
                   "or both (default)")
    p.add_argument("--configs", metavar="A,B", help="configurations, comma-separated (default: all of "
                   "default, baseline, extractive, dense, bm25, hybrid)")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N cases of each suite (quick tries)")
    p.add_argument("--out", type=Path, metavar="DIR", help="reports folder (default: evals/reports)")
    p.add_argument("--rerender", type=Path, metavar="RESULTS_JSON", help="only rewrite the report of an earlier "
                   "(or interrupted) run from its results.json")
    p.add_argument("--rescore", action="store_true", help="with --rerender: score the recorded answers again with "
                   "today's scorers and cases, into a new report folder (no model runs)")
    p.add_argument("--faithfulness", choices=["dev", "holdout"], metavar="SPLIT", help="instead of the suites: run "
                   "the faithfulness suite's split (evals/faithfulness/, labelled sentence/passage pairs) through "
                   "verification and print how many unsupported sentences it caught and supported ones it kept")
    p.epilog = "--backend sets the generator of default and baseline (default here: llamacpp, the local LLM)."
    _settings_flags(p)

    p = commands.add_parser("conversations", help="list or export the chat's saved conversations",
                            description="The chat's conversations, saved in the data folder "
                                        "(conversations.sqlite3): list them, or export one as Markdown (each "
                                        "quote with its source link and character offsets) or JSON.")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    q = actions.add_parser("list", help="id, owner, turns and title of each conversation, newest first")
    q.add_argument("--user", help="only this login's conversations ('' for the chat without a login)")
    q.add_argument("--json", action="store_true")
    _settings_flags(q)
    q = actions.add_parser("export", help="one conversation as Markdown or JSON")
    q.add_argument("conversation_id", metavar="ID")
    q.add_argument("--format", choices=["md", "json"], default="md")
    q.add_argument("--out", type=Path, metavar="FILE", help="write to FILE instead of standard output")
    _settings_flags(q)

    p = commands.add_parser("feedback", help="list the chat's ratings, or export them as the feedback eval suite",
                            description="Thumbs up/down given in the chat (feedback.sqlite3 in the data folder). "
                                        "`export` writes them as cases of the evaluation suite format "
                                        "(evals/SCHEMA.md), by default to evals/suites/feedback.jsonl, so that "
                                        "`rag eval --suite feedback` replays them.")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    q = actions.add_parser("list", help="every rating: id, thumbs, reason, question")
    _settings_flags(q)
    q = actions.add_parser("export", help="the ratings as the feedback suite")
    q.add_argument("--out", type=Path, metavar="FILE", help="default: evals/suites/feedback.jsonl")
    q.add_argument("--corpus", action="append", metavar="FOLDER", help="the folders the cases' store is built "
                   "from (repeatable; default: the corpus folder, RAG_CORPUS_DIR)")
    _settings_flags(q)

    p = commands.add_parser("collections", help="list the corpora (collections) of the store side by side",
                            description="Each corpus is a collection of the store: add documents to one with "
                                        "`rag ingest --collection NAME PATH`, ask it with `rag ask --collection "
                                        "NAME`; the chat offers every corpus in its settings panel.")
    p.add_argument("--json", action="store_true")
    _settings_flags(p)

    p = commands.add_parser("chat", help="serve the chat in the browser (what `python app.py` does)",
                            description="Serve the chat on http://127.0.0.1:7860; on first run the store is built "
                                        "from the corpus folder.")
    from .server import add_arguments  # light: the server imports models and Gradio only when it runs
    add_arguments(p)
    _settings_flags(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code."""
    parser = build_parser("rag" if Path(sys.argv[0]).name == "rag" else "python -m rag")
    args = parser.parse_args(argv)
    logging.basicConfig(level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)],
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings(data_dir=args.data_dir, collection=args.collection, chroma_url=args.chroma_url,
                                 retriever=args.retriever, generator=args.generator, chunk_size=args.chunk_size,
                                 chunk_overlap=args.chunk_overlap, top_k=getattr(args, "top_k", None),
                                 host=getattr(args, "host", None), port=getattr(args, "port", None),
                                 corpus_dir=getattr(args, "corpus_dir", None))
        return COMMANDS[args.command](args, settings)
    except RagError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE if isinstance(error, InputError) else EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


# ----- commands ----------------------------------------------------------------------------
def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    ingestor = _ingestor(settings)
    # Strings, not Paths: Path() would fold the "//" of an http:// URL.
    report = _with_progress(lambda progress: ingestor.ingest_paths(list(args.paths), progress))
    return _report(report)


def cmd_sync(args: argparse.Namespace, settings: Settings) -> int:
    ingestor = _ingestor(settings)
    report = _with_progress(lambda progress: ingestor.sync_folder(args.folder, progress))
    return _report(report)


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    from .wiring import open_store
    documents = open_store(settings).list_documents()
    if args.json:
        for d in documents:
            print(json.dumps({"doc_id": d.doc_id, "title": d.title, "source": d.source, "chunks": d.chunk_count,
                              **{k: v for k, v in d.metadata.items()
                                 if k in ("path", "url", "publisher", "author", "date", "format", "parent_id")}},
                             ensure_ascii=False))
        return 0
    for d in documents:
        print(f"{d.doc_id}\t{d.chunk_count} chunks\t{d.title}\t{d.source}")
    print(f"{len(documents)} document(s)", file=sys.stderr)
    return 0


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    removed = _ingestor(settings).remove(args.doc)
    print(f"removed {args.doc} ({removed} chunks)")
    return 0


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from .assistant import clean_question
    from .wiring import build_retriever
    queries = _questions(args.query)
    retriever = build_retriever(settings)   # search loads no generator
    _require_documents(retriever.store)
    failures = 0
    for query in queries:
        try:
            hits = retriever.search(clean_question(query), settings.top_k, _filters(args))
        except InputError as error:
            failures += 1
            _emit_error(args.json, query, error)
            continue
        if args.json:
            print(json.dumps({"query": query, "hits": [h.to_json(rank) for rank, h in enumerate(hits, 1)]},
                             ensure_ascii=False))
        else:
            _print_hits(query, hits)
    return EXIT_ERROR if failures else 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from .assistant import Assistant
    questions = _questions(args.question)
    assistant = Assistant.from_settings(settings)
    _require_documents(assistant.store)
    failures = 0
    for question in questions:
        try:
            answer = assistant.ask(question, filters=_filters(args))
        except InputError as error:
            failures += 1
            _emit_error(args.json, question, error)
            continue
        if args.json:
            print(json.dumps(answer.to_json(), ensure_ascii=False), flush=True)
        else:
            print(format_answer(answer))
    return EXIT_ERROR if failures else 0


def cmd_model(args: argparse.Namespace, settings: Settings) -> int:
    from .generation.llamacpp import MODEL_FILE, ensure_default_model
    path = ensure_default_model(settings.cache_dir)
    print(f"{MODEL_FILE}: ready at {path} (sha256 checked)")
    return 0


def cmd_copy(args: argparse.Namespace, settings: Settings) -> int:
    from .ingestion import writer_lock
    from .store import ChunkStore, copy_corpus, open_client
    remote = args.target.startswith(("http://", "https://"))
    target = settings.model_copy(update={"chroma_url": args.target} if remote else
                                 {"chroma_url": None, "data_dir": Path(args.target).expanduser()})
    if (target.chroma_url or str(target.store_dir.resolve())) == (settings.chroma_url or str(settings.store_dir.resolve())):
        raise InputError("--to names the store being copied")
    source_client, target_client = open_client(settings), open_client(target)
    with writer_lock(target, ChunkStore(target_client, settings.collection, None)):  # type: ignore[arg-type]
        report = _with_progress(lambda progress: copy_corpus(source_client, target_client, settings.collection, progress))
    print(f"copied {report.copied} records of '{settings.collection}' to {args.target}; "
          f"removed {report.removed} the source no longer has")
    return 0


def _eval_faithfulness(split: str, out: Path | None) -> int:
    """The faithfulness suite through the verifier: caught and kept, overall and per kind."""
    from .embedding import load_embeddings
    from .evaluation import faithfulness
    from .verification import Verifier
    result = faithfulness.run(Verifier(load_embeddings()), split)
    print(faithfulness.summary(result))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"faithfulness-{split}.json"
        path.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        print(f"\nrecords: {path}")
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    import time

    from .evaluation.report import REPORTS_DIR, summary_text, write_report, write_results
    from .evaluation.runner import Evaluation, RunResult, parse_configs
    from .evaluation.suites import load_suite
    if args.faithfulness:
        return _eval_faithfulness(args.faithfulness, args.out)
    if args.rerender:
        try:
            run = RunResult.from_json(json.loads(args.rerender.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError) as error:
            raise InputError(f"cannot read {args.rerender}: {error}") from error
        if args.rescore:
            from .evaluation.runner import rescore
            run = rescore(run)
        print(summary_text(run))
        folder = write_report(run, args.out or REPORTS_DIR, latest=False) if args.rescore else \
            write_report(run, folder=args.rerender.parent)
        print(f"\nreport: {folder}/report.html")
        return 0
    if args.limit is not None and args.limit < 1:
        raise InputError("--limit must be at least 1")
    from .evaluation.suites import SPLITS
    default = [name for split, names in SPLITS.items() if args.split in (split, "all") for name in names]
    names = [n.strip() for arg in (args.suite or [",".join(default)]) for n in arg.split(",") if n.strip()]
    suites = [load_suite(name).limited(args.limit) for name in names]
    configs = parse_configs(args.configs)
    # The default configuration is the LLM pipeline unless --backend swaps the generator.
    evaluation = Evaluation(settings, backend=args.generator or "llamacpp")
    progress, close = _eval_progress()
    saved = [0.0]

    def checkpoint(partial: RunResult) -> None:  # an interrupted run keeps what it answered
        if time.monotonic() - saved[0] > 30:
            write_results(partial, args.out or REPORTS_DIR)
            saved[0] = time.monotonic()

    try:
        run = evaluation.run(suites, configs, progress, command=" ".join(["python -m rag", *sys.argv[1:]]),
                             checkpoint=checkpoint)
    finally:
        close()
    print(summary_text(run))
    folder = write_report(run, args.out or REPORTS_DIR)
    print(f"\nreport: {folder}/report.html (and report.md, results.json; copied to {folder.parent}/latest)")
    return 0


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from .server import run
    run(settings)
    return 0


def cmd_conversations(args: argparse.Namespace, settings: Settings) -> int:
    from .conversations import ConversationStore, to_markdown
    store = ConversationStore.in_data_dir(settings.data_dir)
    if args.action == "list":
        conversations = store.list_conversations(args.user)
        for c in conversations:
            turns = len(store.get(c.id, None).turns)
            if args.json:
                print(json.dumps({"id": c.id, "owner": c.owner, "title": c.title, "turns": turns,
                                  "updated": c.updated}, ensure_ascii=False))
            else:
                print(f"{c.id}\t{c.owner or '-'}\t{turns} turn(s)\t{c.title}")
        print(f"{len(conversations)} conversation(s)", file=sys.stderr)
        return 0
    conversation = store.get(args.conversation_id, None)
    text = (json.dumps(conversation.to_json(), ensure_ascii=False, indent=2) + "\n" if args.format == "json"
            else to_markdown(conversation, _current_versions(settings)))
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def cmd_feedback(args: argparse.Namespace, settings: Settings) -> int:
    from .evaluation.suites import SUITES_DIR, load_suite
    from .feedback import FeedbackStore, corpus_folder, to_cases, write_suite
    ratings = FeedbackStore.in_data_dir(settings.data_dir).all()
    if args.action == "list":
        for r in ratings:
            print(f"{r.id}\t{r.rating}\t{r.reason or '-'}\t{r.question}")
        print(f"{len(ratings)} rating(s)", file=sys.stderr)
        return 0
    folders = [corpus_folder(Path(f)) for f in (args.corpus or [settings.corpus_dir])]
    cases, skipped = to_cases(ratings, folders)
    for s in skipped:
        print(f"skipped feedback {s.feedback_id}: {s.why}", file=sys.stderr)
    out = args.out or SUITES_DIR / "feedback.jsonl"
    draft = out.with_name(out.stem + ".draft.jsonl")
    write_suite(cases, draft)
    try:
        load_suite(str(draft))  # the suite must be one `rag eval` can run
    except RagError:
        draft.unlink()
        raise
    draft.replace(out)
    print(f"wrote {len(cases)} case(s) to {out}; replay them with: rag eval --suite "
          f"{'feedback' if out == SUITES_DIR / 'feedback.jsonl' else out}", file=sys.stderr)
    return 0


def cmd_collections(args: argparse.Namespace, settings: Settings) -> int:
    from .store import ChunkStore, open_client
    client = open_client(settings)
    names = ChunkStore(client, settings.collection, None).corpora()  # type: ignore[arg-type]
    for name in names:
        count = len(ChunkStore(client, name, None).list_documents())  # type: ignore[arg-type]
        marker = " (configured)" if name == settings.collection else ""
        if args.json:
            print(json.dumps({"collection": name, "documents": count, "configured": bool(marker)}))
        else:
            print(f"{name}\t{count} document(s){marker}")
    return 0


def _current_versions(settings: Settings) -> dict[str, str] | None:
    """doc_id -> version of the corpus's documents, or None when there is no store to ask."""
    from .store import ChunkStore, open_client
    if not settings.chroma_url and not settings.store_dir.is_dir():
        return None
    # Reading versions needs no embedding model.
    return ChunkStore(open_client(settings), settings.collection, None).visible_versions()  # type: ignore[arg-type]


COMMANDS = {"ingest": cmd_ingest, "conversations": cmd_conversations, "feedback": cmd_feedback,
            "collections": cmd_collections, "model": cmd_model, "copy": cmd_copy, "sync": cmd_sync, "list": cmd_list,
            "remove": cmd_remove, "search": cmd_search, "ask": cmd_ask, "eval": cmd_eval, "chat": cmd_chat}


# ----- helpers -----------------------------------------------------------------------------
def _ingestor(settings: Settings) -> Any:
    from .ingestion import Ingestor
    from .wiring import open_store
    store = open_store(settings)  # checks the store before the model loads
    return Ingestor(store, store.embeddings, settings)


def _with_progress(run: Any) -> Any:
    from tqdm import tqdm
    bar: Any = None

    def progress(done: int, total: int, what: str) -> None:
        nonlocal bar
        if bar is None and total:
            bar = tqdm(total=total, unit="chunk", desc=what, file=sys.stderr, disable=None)
        if bar is not None:
            bar.update(done - bar.n)

    try:
        return run(progress)
    finally:
        if bar is not None:
            bar.close()


def _eval_progress() -> tuple[Any, Any]:
    """A progress callback with one bar for cases and a passing one for embedding a corpus."""
    from tqdm import tqdm
    bars: dict[str, Any] = {}

    def progress(done: int, total: int, what: str) -> None:
        key = "embedding" if "embedding" in what else "cases"
        if key not in bars and total and done < total:
            bars[key] = tqdm(total=total, unit="chunk" if key == "embedding" else "case", file=sys.stderr, disable=None)
        bar = bars.get(key)
        if bar is not None:
            bar.set_description(what, refresh=False)
            bar.update(done - bar.n)
            if key == "embedding" and done >= total:
                bars.pop(key).close()

    def close() -> None:
        for bar in bars.values():
            bar.close()

    return progress, close


def _report(report: Any) -> int:
    for failure in report.failed:
        print(f"skipped {failure.path}: {failure.reason}", file=sys.stderr)
    print(report.summary())
    if report.failed and not report.documents:
        return EXIT_USAGE
    return 0


def _require_documents(store: Any) -> None:
    if not store.list_documents():
        raise InputError("the store is empty: add documents first, e.g. `python -m rag ingest corpus/`")


def _questions(arg: str) -> list[str]:
    if arg != "-":
        from .assistant import clean_question
        clean_question(arg)  # a bad question fails here, before any model is loaded
        return [arg]
    return [line.rstrip("\n") for line in sys.stdin if line.strip()]


def _filters(args: argparse.Namespace) -> Any:
    from .retrieval import Filters
    return Filters(doc_ids=tuple(args.doc), date_from=args.date_from, date_to=args.date_to)


def _emit_error(as_json: bool, question: str, error: RagError) -> None:
    if as_json:
        print(json.dumps({"question": question, "error": str(error)}, ensure_ascii=False), flush=True)
    else:
        print(f"error: {error}", file=sys.stderr)


def _print_hits(query: str, hits: Sequence[Any]) -> None:
    print(f"query: {query}")
    if not hits:
        print("  (no passages found)")
    for rank, hit in enumerate(hits, 1):
        c = hit.chunk
        found_by = ", ".join(f"{name} #{r}" for name, r in hit.ranks.items())
        page = f" p.{c.page}" if c.page is not None else ""
        print(f"{rank:>2}. relevance {hit.relevance:.3f}  {c.doc_id} [{c.start}:{c.end}]{page}  ({found_by})")
        print(f"    {c.title} — {c.source}")
        preview = " ".join(c.text.split())
        print(f"    {preview[:240]}{'…' if len(preview) > 240 else ''}")


def format_answer(answer: Any) -> str:
    """An answer with its sources, for a terminal."""
    lines = [answer.text]
    if answer.citations:
        lines.append("\nSources:")
        for c in answer.citations:
            page = f", p. {c.page}" if c.page is not None else ""
            lines.append(f"[{c.n}] {c.title}{page} — {c.source}")
            lines.append(f"    “{' '.join(c.quote.split())}”  (chars {c.start}–{c.end} of {c.doc_id})")
    return "\n".join(lines)
