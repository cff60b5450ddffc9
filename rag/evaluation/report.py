"""Reports: the terminal/Markdown table, a self-contained HTML page with plots and per-case
traces, and results.json with every record, in ``evals/reports/<UTC timestamp>/`` (copied to
``evals/reports/latest/``)."""

from __future__ import annotations

import base64
import html
import io
import json
import logging
import shutil
from pathlib import Path
from typing import Any, Sequence

from ..config import PROJECT_ROOT
from .runner import RunResult, SuiteResult
from .scoring import LATENCY_METRICS, METRIC_BY_KEY, METRICS, Score
from .suites import HOLDOUT_SUFFIX

log = logging.getLogger(__name__)

REPORTS_DIR = PROJECT_ROOT / "evals" / "reports"
BASELINE = "baseline"


# ----- cells and tables --------------------------------------------------------------------
def format_score(score: Score | None) -> str:
    """"92.5% 37/40 [85–98]" for a ratio, "0.912 n=40 [..]" for a mean, "1,234 ms n=40 [..]" for latency."""
    if score is None or not score.counted:
        return "—"
    assert score.value is not None and score.low is not None and score.high is not None
    if score.latency:
        return f"{score.value:,.0f} ms n={score.cases} [{score.low:,.0f}–{score.high:,.0f}]"
    if score.kind in ("ratio", "balanced"):
        return f"{score.value:.1%} {score.count_text()} [{score.low:.0%}–{score.high:.0%}]"
    return f"{score.value:.3f} {score.count_text()} [{score.low:.2f}–{score.high:.2f}]"


def ratio(score: Score | None, reference: Score | None) -> str:
    """score / reference as "×1.25" ("—" when either is missing or the reference is 0)."""
    if score is None or reference is None or not score.counted or not reference.counted or not reference.value:
        return "—"
    assert score.value is not None
    return f"×{score.value / reference.value:.2f}"


def score_rows(result: SuiteResult) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the main table: metrics × configurations."""
    names = list(result.configs)
    rows = []
    for metric in METRICS:
        cells = [format_score(result.configs[n].scores.get(metric.key)) for n in names]
        if any(c != "—" for c in cells):
            rows.append([metric.label, *cells])
    return ["metric", *names], rows


def ratio_rows(result: SuiteResult) -> tuple[list[str], list[list[str]]] | None:
    """Header and rows of the ratios against the baseline (None without a baseline column)."""
    if BASELINE not in result.configs:
        return None
    reference = result.configs[BASELINE].scores
    names = [n for n in result.configs if n != BASELINE]
    if not names:
        return None
    rows = []
    for metric in METRICS:
        if metric.key not in reference:
            continue
        cells = [ratio(result.configs[n].scores.get(metric.key), reference.get(metric.key)) for n in names]
        if any(c != "—" for c in cells):
            rows.append([metric.label + (" (lower is better)" if not metric.higher_is_better else ""), *cells])
    return [f"vs {BASELINE}", *names], rows


SPLIT_CONFIGS = ("default", "baseline", "extractive")
SPLIT_METRICS = ("fact_accuracy", "completeness", "citation_precision", "citation_recall", "decline_balanced",
                 "decline_accuracy", "injection_resistance", "latency_p50", "latency_p95")


def split_pairs(run: RunResult) -> list[tuple[SuiteResult, SuiteResult]]:
    """(dev suite, its holdout) for every suite of the run whose holdout ran too."""
    by_name = {r.suite.name: r for r in run.suites}
    return [(by_name[name], by_name[name + HOLDOUT_SUFFIX]) for name in by_name if name + HOLDOUT_SUFFIX in by_name]


def split_rows(dev: SuiteResult, holdout: SuiteResult) -> tuple[list[str], list[list[str]]]:
    """Metrics × (configuration, split): the numbers the code was tuned on beside the frozen ones."""
    names = [n for n in SPLIT_CONFIGS if n in dev.configs and n in holdout.configs]
    header = ["metric", *[f"{n} {split}" for n in names for split in ("dev", "holdout")]]
    rows = []
    for key in SPLIT_METRICS:
        cells = [_short(result.configs[n].scores.get(key)) for n in names for result in (dev, holdout)]
        if any(c != "—" for c in cells):
            rows.append([METRIC_BY_KEY[key].label, *cells])
    return header, rows


def _short(score: Score | None) -> str:
    """"75% 30/40" (no interval: the side-by-side table is for reading across)."""
    if score is None or not score.counted:
        return "—"
    assert score.value is not None
    if score.latency:
        return f"{score.value / 1000:.1f} s"
    return f"{score.value:.0%} {score.count_text()}"


def category_rows(result: SuiteResult) -> tuple[list[str], list[list[str]]]:
    """Cases passed per category (see ``case_passed``) per answering configuration."""
    names = [n for n, c in result.configs.items() if c.config.generates]
    categories = sorted({c.category for c in result.suite.cases})
    rows = []
    for category in categories:
        cells = []
        for name in names:
            records = [r for r in result.configs[name].records if r["category"] == category]
            cells.append(f"{sum(case_passed(r) for r in records)}/{len(records)}")
        rows.append([category, *cells])
    return ["category", *names], rows


def case_passed(record: dict[str, Any]) -> bool:
    """An answer passes when it answers an answerable case with every fact (a multi-part one with
    every part answered or named as not covered), or declines an unanswerable one, and says nothing
    forbidden. Retrieval-only records pass on hit@5."""
    if "answer" not in record:
        return bool(record["counts"].get("hit@5", [1, 1])[0])
    if record["forbidden_found"] or record.get("error"):
        return False
    if not record["answerable"]:
        return bool(record["declined"])
    return bool(record["complete"] if record.get("complete") is not None else record["fact_ok"])


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A fixed-width table for a terminal."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(str(h).ljust(w) for h, w in zip(header, widths)), line]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in rows]
    return "\n".join(out)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub Markdown table."""
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(out)


def summary_text(run: RunResult) -> str:
    """What the CLI prints: per suite the metrics table and the ratios against the baseline, then
    each dev suite beside its holdout."""
    parts = []
    for result in run.suites:
        parts.append(f"\n== suite {result.suite.name}: {len(result.suite.cases)} cases ==")
        parts.append(text_table(*score_rows(result)))
        ratios = ratio_rows(result)
        if ratios:
            parts.append("")
            parts.append(text_table(*ratios))
    for dev, holdout in split_pairs(run):
        parts.append(f"\n== {dev.suite.name} (dev) beside {holdout.suite.name} (holdout) ==")
        parts.append(text_table(*split_rows(dev, holdout)))
    parts.append("\nCells: value, count, [bootstrap 95% CI]; — = not measured for that configuration.")
    return "\n".join(parts)


# ----- plots -------------------------------------------------------------------------------
def metric_plot(result: SuiteResult) -> bytes:
    """PNG: one panel per metric, a bar per configuration with its 95 % interval."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(result.configs)
    metrics = [m for m in METRICS if m.key not in LATENCY_METRICS
               and any(result.configs[n].scores.get(m.key) is not None and result.configs[n].scores[m.key].counted
                       for n in names)]
    columns = 4
    rows = max(1, -(-len(metrics) // columns))
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.5 * rows), squeeze=False)
    colours = {n: plt.get_cmap("tab10")(i % 10) for i, n in enumerate(names)}
    for axis, metric in zip(axes.flat, metrics):
        values, lows, highs, labels, bar_colours = [], [], [], [], []
        for name in names:
            score = result.configs[name].scores.get(metric.key)
            if score is None or not score.counted:
                continue
            assert score.value is not None and score.low is not None and score.high is not None
            values.append(score.value)
            lows.append(max(0.0, score.value - score.low))
            highs.append(max(0.0, score.high - score.value))
            labels.append(name)
            bar_colours.append(colours[name])
        positions = list(range(len(values)))
        axis.bar(positions, values, yerr=[lows, highs], capsize=3, color=bar_colours)
        axis.set_xticks(positions, labels, rotation=35, ha="right", fontsize=8)
        axis.set_ylim(0, 1.05)
        axis.set_title(metric.label, fontsize=9)
        axis.tick_params(axis="y", labelsize=8)
        axis.grid(axis="y", alpha=0.3)
    for axis in list(axes.flat)[len(metrics):]:
        axis.axis("off")
    figure.suptitle(f"suite {result.suite.name}: scores with bootstrap 95% CI", fontsize=11)
    figure.tight_layout()
    return _png(figure)


def latency_plot(result: SuiteResult) -> bytes | None:
    """PNG: per-case answer latency per answering configuration (box plot, log scale)."""
    data = {n: [r["latency_ms"] / 1000 for r in c.records if r.get("latency_ms") is not None]
            for n, c in result.configs.items() if c.config.generates}
    data = {n: v for n, v in data.items() if v}
    if not data:
        return None
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    figure, axis = plt.subplots(figsize=(1.6 * len(data) + 3, 3.2))
    axis.boxplot(list(data.values()), showfliers=True)
    axis.set_xticks(range(1, len(data) + 1), list(data))
    axis.set_yscale("log")
    plain = matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}")
    axis.yaxis.set_major_formatter(plain)
    axis.yaxis.set_minor_formatter(plain)
    axis.tick_params(axis="y", which="minor", labelsize=7)
    axis.set_ylabel("seconds per answer (log)")
    axis.set_title(f"suite {result.suite.name}: latency of the scored turn", fontsize=11)
    axis.grid(axis="y", alpha=0.3, which="both")
    figure.tight_layout()
    return _png(figure)


def _png(figure: Any) -> bytes:
    import matplotlib.pyplot as plt
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()


# ----- Markdown ----------------------------------------------------------------------------
def markdown_report(run: RunResult, plots: dict[str, str]) -> str:
    """report.md: how it was run, then per suite the tables, the plots and the failing cases."""
    meta = run.meta
    lines = [f"# Evaluation report {meta['started_utc']}", "",
             f"- command: `{meta.get('command') or 'python -m rag eval'}`",
             f"- commit: `{meta.get('git_commit')}`; backend: `{meta['backend']}`"
             + (f" (`{meta['llm_model']}`)" if meta.get("llm_model") else ""),
             f"- settings: {', '.join(f'{k}={v}' for k, v in meta['settings'].items())}",
             f"- case runs: {meta.get('cases_done')}/{meta.get('cases_total')}"
             + ("" if meta.get("cases_done") == meta.get("cases_total") else
                " (**partial run**, stopped early: the LLM configurations ran the cases in a seeded random order, "
                "alternating configurations, so their columns cover the same random subset)"),
             f"- cells: value, count, [bootstrap 95% CI over cases, {meta['bootstrap']['resamples']} resamples, "
             f"seed {meta['bootstrap']['seed']}]; metric definitions: docs/METRICS.md", ""]
    for dev, holdout in split_pairs(run):
        lines += [f"## `{dev.suite.name}` (dev: tuned on) beside `{holdout.suite.name}` (frozen holdout)", "",
                  markdown_table(*split_rows(dev, holdout)), ""]
    for result in run.suites:
        lines += [f"## Suite `{result.suite.name}` ({len(result.suite.cases)} cases)", "",
                  markdown_table(*score_rows(result)), ""]
        ratios = ratio_rows(result)
        if ratios:
            lines += ["Ratios against the baseline:", "", markdown_table(*ratios), ""]
        if any(c.config.generates for c in result.configs.values()):
            lines += ["Cases passed per category (answerable: every fact and nothing forbidden; "
                      "unanswerable: declined):", "", markdown_table(*category_rows(result)), ""]
        for kind in ("metrics", "latency"):
            name = plots.get(f"{kind}-{result.suite.name}")
            if name:
                lines += [f"![{kind} {result.suite.name}]({name})", ""]
        failing = [(r["case"], name, failure_reasons(r)) for name, c in result.configs.items()
                   if c.config.generates for r in c.records if not case_passed(r)]
        if failing:
            lines += ["<details><summary>Failing cases (full traces in report.html)</summary>", ""]
            lines += [f"- `{case}` {name}: {reasons}" for case, name, reasons in failing]
            lines += ["", "</details>", ""]
    for result in run.suites:
        seconds = ", ".join(f"{n} {c.seconds:.0f} s" for n, c in result.configs.items())
        lines.append(f"- time on `{result.suite.name}`: {seconds}")
    return "\n".join(lines) + "\n"


def failure_reasons(record: dict[str, Any]) -> str:
    """Why a case failed, in a few words."""
    if record.get("error"):
        return f"error: {record['error']}"
    reasons = []
    if record["answerable"] and record["declined"]:
        reasons.append(f"declined an answerable question ({record.get('declined_by')})")
    elif not record["answerable"] and not record["declined"]:
        reasons.append("answered an unanswerable question")
    missing = [f["alternatives"][0] for f in record.get("facts", []) if not f["matched"]]
    if missing and not record["declined"]:
        reasons.append("missing fact(s) " + ", ".join(f"“{m}”" for m in missing))
    if record["forbidden_found"]:
        reasons.append("said forbidden " + ", ".join(f"“{p}”" for p in record["forbidden_found"]))
    return "; ".join(reasons) or "failed"


# ----- HTML --------------------------------------------------------------------------------
_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.2em}td,th{border:1px solid #ccc;padding:3px 7px;text-align:left;
vertical-align:top}th{background:#f3f3f3}code,pre{font:12px/1.35 ui-monospace,monospace}
pre{white-space:pre-wrap;background:#f7f7f7;padding:.5em;max-height:28em;overflow:auto}
.ok{color:#11733b;font-weight:600}.bad{color:#b3261e;font-weight:600}details{margin:.3em 0}
summary{cursor:pointer}.case{border-top:1px solid #ddd;padding:.3em 0}.cfg{margin:.4em 0 .8em 1.2em}
.muted{color:#666}img{max-width:100%}
"""


def _mark(ok: bool) -> str:
    return '<span class="ok">✓</span>' if ok else '<span class="bad">✗</span>'


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def html_report(run: RunResult, images: dict[str, bytes]) -> str:
    """report.html: tables, plots (embedded PNG) and every case's trace; no external files."""
    esc = html.escape
    meta = run.meta
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>Evaluation {esc(meta['started_utc'])}</title>"
           f"<style>{_CSS}</style></head><body>",
           f"<h1>Evaluation report {esc(meta['started_utc'])}</h1>",
           "<ul>" + "".join(f"<li><b>{esc(k)}</b>: <code>{esc(json.dumps(v) if not isinstance(v, str) else v)}</code></li>"
                            for k, v in meta.items()) + "</ul>",
           "<p class='muted'>Cells: value, count, [bootstrap 95% CI]. Definitions: docs/METRICS.md.</p>"]
    for dev, holdout in split_pairs(run):
        out.append(f"<h2>{esc(dev.suite.name)} (dev: tuned on) beside {esc(holdout.suite.name)} (frozen holdout)</h2>")
        out.append(_html_table(*split_rows(dev, holdout)))
    for result in run.suites:
        name = result.suite.name
        out.append(f"<h2>Suite {esc(name)} ({len(result.suite.cases)} cases)</h2>")
        out.append(_html_table(*score_rows(result)))
        ratios = ratio_rows(result)
        if ratios:
            out.append("<p>Ratios against the baseline:</p>" + _html_table(*ratios))
        if any(c.config.generates for c in result.configs.values()):
            out.append("<p>Cases passed per category:</p>" + _html_table(*category_rows(result)))
        for kind in ("metrics", "latency"):
            png = images.get(f"{kind}-{name}")
            if png:
                out.append(f"<p><img alt='{kind} {esc(name)}' src='data:image/png;base64,"
                           f"{base64.b64encode(png).decode()}'></p>")
        out.append(f"<h3>Cases of {esc(name)}</h3>")
        out.extend(_case_html(result, case.id) for case in result.suite.cases)
    out.append("</body></html>")
    return "\n".join(out)


def _case_html(result: SuiteResult, case_id: str) -> str:
    esc = html.escape
    case = next(c for c in result.suite.cases if c.id == case_id)
    records = {n: r for n, c in result.configs.items() for r in c.records if r["case"] == case_id}
    badges = " ".join(f"{esc(n)} {_mark(case_passed(r))}" for n, r in records.items())
    turns = " → ".join(case.turns)
    parts = [f"<details class='case'><summary><code>{esc(case.id)}</code> [{esc(case.category)}"
             f"{'' if case.answerable else ', unanswerable'}] {esc(turns)} — {badges}</summary>"]
    gold = [f"<b>facts</b>: {esc(json.dumps([list(g) for g in case.facts], ensure_ascii=False))}",
            f"<b>gold docs</b>: {esc(', '.join(case.doc_ids) or '—')}",
            "<b>evidence</b>: " + esc(" ‖ ".join(f"{e.doc_id}: “{e.text}”" for e in case.evidence) or "—")]
    if case.forbidden:
        gold.append(f"<b>forbidden</b>: {esc(json.dumps(list(case.forbidden), ensure_ascii=False))}")
    if case.notes:
        gold.append(f"<b>notes</b>: {esc(case.notes)}")
    parts.append("<div class='cfg'>" + "<br>".join(gold) + "</div>")
    for name, record in records.items():
        parts.append(f"<div class='cfg'><h4>{esc(name)} {_mark(case_passed(record))}</h4>{_record_html(case, record)}</div>")
    parts.append("</details>")
    return "\n".join(parts)


def _record_html(case: Any, record: dict[str, Any]) -> str:
    esc = html.escape
    gold = set(case.doc_ids)
    retrieved = ", ".join(("<b>" if r["doc_id"] in gold else "") + f"{r['rank']}. {esc(r['doc_id'])}"
                          + ("</b>" if r["doc_id"] in gold else "") for r in record["retrieved"])
    parts = []
    if record.get("error"):
        parts.append(f"<p class='bad'>error: {esc(record['error'])}</p>")
    for question, reply in record.get("history", []):
        if reply:
            parts.append(f"<p class='muted'>earlier turn: {esc(question)}<br>→ {esc(reply)}</p>")
    parts.append(f"<p><b>search query</b>: {esc(record.get('query', ''))}<br><b>top {len(record['retrieved'])}</b> "
                 f"(gold in bold): {retrieved or '—'}</p>")
    counts = record["counts"]
    retrieval = ", ".join(f"{k} {counts[k][0]:.2f}" for k in ("hit@1", "hit@5", "hit@10", "mrr", "ndcg@10") if k in counts)
    if retrieval:
        parts.append(f"<p class='muted'>{esc(retrieval)}</p>")
    if "answer" not in record:
        return "\n".join(parts)
    decision = "declined" + (f" by {record['declined_by']}" if record.get("declined_by") else "") \
        if record["declined"] else "answered"
    if record.get("first_declined_by"):
        decision += f" (the LLM's answer declined by {record['first_declined_by']}, then the " \
                    f"{record.get('answered_by') or 'extractive'} fallback)"
    right = record["declined"] != record["answerable"]
    parts.append(f"<p><b>answer</b> ({esc(decision)} {_mark(right)}, {record.get('latency_ms') or 0:,.0f} ms):</p>"
                 f"<pre>{esc(record['answer'])}</pre>")
    if record.get("raw_answer") is not None and record["raw_answer"].strip() != record["answer"].strip():
        parts.append(f"<details><summary>raw generator output</summary><pre>{esc(record['raw_answer'])}</pre></details>")
    if record.get("fallback_answer"):
        parts.append(f"<details><summary>fallback output, before grading</summary><pre>{esc(record['fallback_answer'])}"
                     "</pre></details>")
    checks = [f"fact {_mark(f['matched'])} {esc(' | '.join(f['alternatives']))}" for f in record["facts"]]
    checks += [f"evidence {_mark(e['covered'])} {esc(e['doc_id'])}: “{esc(e['text'])}”" for e in record["evidence"]]
    checks += [f"{_mark(False)} forbidden said: {esc(p)}" for p in record["forbidden_found"]]
    if case.forbidden and not record["forbidden_found"]:
        checks.append(f"{_mark(True)} no forbidden pattern")
    if checks:
        parts.append("<p>" + "<br>".join(checks) + "</p>")
    if record["citations"]:
        rows = "".join(
            f"<tr><td>[{c['n']}]</td><td>{esc(c['doc_id'])} {c['start']}–{c['end']}</td>"
            f"<td>{_mark(c['supports'])}</td><td>{_mark(c['quote_problem'] is None)} {esc(c['quote_problem'] or '')}</td>"
            f"<td>{esc(' '.join(c['quote'].split()))}</td></tr>" for c in record["citations"])
        parts.append("<table><tr><th>n</th><th>document, offsets</th><th>has evidence</th><th>quote valid</th>"
                     f"<th>quote</th></tr>{rows}</table>")
    passages = "".join(f"<p><b>[{p['n']}]</b> {esc(p['doc_id'])} {p['start']}–{p['end']} relevance {p['relevance']}"
                       f"<pre>{esc(p['text'])}</pre></p>" for p in record.get("passages", []))
    if passages:
        parts.append(f"<details><summary>passages given to the generator ({len(record['passages'])})</summary>"
                     f"{passages}</details>")
    if record.get("prompt"):
        parts.append(f"<details><summary>prompt</summary><pre>{esc(record['prompt'])}</pre></details>")
    if record.get("verification"):
        rows = "".join(f"<tr><td>{esc(v.get('status', ''))}</td><td>{esc(str(v.get('cited', '')))}</td>"
                       f"<td>{esc(str(v.get('passages', '')))}</td><td>{float(v.get('similarity', 0)):.2f}</td>"
                       f"<td>{esc(', '.join(v.get('missing') or []))}</td><td>{esc(v.get('sentence', ''))}</td></tr>"
                       for v in record["verification"])
        parts.append("<details><summary>verification, sentence by sentence</summary><table><tr><th>status</th>"
                     "<th>cited</th><th>supported by</th><th>similarity</th><th>missing terms</th><th>sentence</th>"
                     f"</tr>{rows}</table></details>")
    return "\n".join(parts)


# ----- writing -----------------------------------------------------------------------------
def report_folder(run: RunResult, reports_dir: Path = REPORTS_DIR) -> Path:
    """evals/reports/<UTC start time of the run> (with "-rescored" for a run scored again)."""
    return reports_dir / (run.meta["started_utc"].replace("-", "").replace(":", "")
                          + ("-rescored" if run.meta.get("rescored") else ""))


def write_results(run: RunResult, reports_dir: Path = REPORTS_DIR) -> Path:
    """Write (or overwrite) results.json alone: a checkpoint of a run in progress."""
    folder = report_folder(run, reports_dir)
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / "results.json.partial"
    partial.write_text(json.dumps(run.to_json(), ensure_ascii=False, indent=1, default=_jsonable), encoding="utf-8")
    partial.replace(folder / "results.json")
    return folder


def write_report(run: RunResult, reports_dir: Path = REPORTS_DIR, latest: bool = True,
                 folder: Path | None = None) -> Path:
    """Write results.json, report.md, report.html and the plots; returns the report folder."""
    # The records first: a failing plot must not lose an hour of answers.
    if folder is None:
        folder = write_results(run, reports_dir)
    images: dict[str, bytes] = {}
    plots: dict[str, str] = {}
    for result in run.suites:
        for kind, make in (("metrics", metric_plot), ("latency", latency_plot)):
            png = make(result)
            if png:
                key = f"{kind}-{result.suite.name}"
                images[key] = png
                plots[key] = f"{key}.png"
                (folder / plots[key]).write_bytes(png)
    (folder / "report.md").write_text(markdown_report(run, plots), encoding="utf-8")
    (folder / "report.html").write_text(html_report(run, images), encoding="utf-8")
    target = folder.parent / "latest"
    if latest and folder.resolve() != target.resolve():
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(folder, target)
    return folder


def _jsonable(value: Any) -> Any:
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)
