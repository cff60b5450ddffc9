"""HTML for the chat: every piece of text from a question, a document or a model is escaped here.

Nothing in this module trusts its input: titles, quotes, sources and answers are passed through
``html.escape`` and only our own tags and attributes reach the page. Links are made only for
http(s) URLs. The markup uses classes that ``assets/chat.js`` (citation clicks, copy) and
``assets/style.css`` know.
"""

from __future__ import annotations

import html
import itertools
import re
from pathlib import PurePosixPath
from typing import Mapping, Sequence
from urllib.parse import unquote, urlparse

from ..coverage import without_uncovered_line
from ..types import Answer, Citation, Hit

CONTEXT_CHARS = 320        # document text shown on each side of a quote
SNIPPET_CHARS = 160        # of a found passage, before the answer is written
_MARKER = re.compile(r"\[(\d+)\]")
_BLANK_LINES = re.compile(r"\n\s*\n\s*(?:\n\s*)+")
_answer_ids = itertools.count(1)  # makes every source's element id unique in the page

STAGES = {
    "searching": "Searching the documents…",
    "writing": "Writing the answer…",
    "verifying": "Checking every sentence against its source…",
    "loading": "Loading the answering model…",
    "summarising": "Reading the whole document…",
}


def text(value: object) -> str:
    """Escaped text with line breaks kept (runs of blank lines folded into one)."""
    escaped = html.escape(_BLANK_LINES.sub("\n\n", str(value)), quote=False)
    return escaped.replace("\n", "<br>")


def safe_href(url: str) -> str | None:
    """The URL if it is safe to link to from the page (http or https), else None."""
    url = url.strip()
    return url if re.match(r"^https?://[^\s<>\"']+$", url, re.IGNORECASE) else None


def render_source_link(source: str) -> str:
    """An http(s) source as a link to the original; a local file by its name; anything else as text."""
    href = safe_href(source)
    if href is not None:
        return (f'<a class="rag-origin" href="{html.escape(href, quote=True)}" target="_blank" '
                f'rel="noopener noreferrer">{html.escape(source.strip())}</a>')
    if source.lower().startswith("file://"):
        name = PurePosixPath(unquote(urlparse(source).path)).name or source
        return f'<span class="rag-origin rag-file" title="local file">{html.escape(name)}</span>'
    return f'<span class="rag-origin">{html.escape(source)}</span>'


def render_status(stage: str, body: str = "") -> str:
    """``body`` (what is shown so far) followed by the "searching… / writing…" line."""
    label = STAGES.get(stage, stage)
    return (f'<div class="rag-msg">{body}<p class="rag-status" role="status">'
            f'<span class="rag-spinner" aria-hidden="true"></span>{html.escape(label)}</p></div>')


def render_hits(hits: Sequence[Hit]) -> str:
    """The passages retrieval found, shown while the answer is being written."""
    if not hits:
        return '<p class="rag-found">No matching passages found.</p>'
    titles = list(dict.fromkeys(h.chunk.title for h in hits))
    items = "".join(
        f"<li><strong>{html.escape(h.chunk.title)}</strong>"
        f"{f' · page {h.chunk.page}' if h.chunk.page is not None else ''}: "
        f"{html.escape(_snippet(h.chunk.text))}</li>" for h in hits)
    documents = f"{len(titles)} document{'s' if len(titles) != 1 else ''}"
    return (f'<details class="rag-found"><summary>Found {len(hits)} passage{"s" if len(hits) != 1 else ""} '
            f"in {documents}: {html.escape(', '.join(titles[:3]))}{'…' if len(titles) > 3 else ''}</summary>"
            f"<ol>{items}</ol></details>")


def render_draft(found: str, draft: str) -> str:
    """The answer as it streams in, before verification."""
    return f'{found}<div class="rag-draft">{text(draft)}<span class="rag-caret" aria-hidden="true"></span></div>'


def render_quick(answer: Answer, documents: dict[str, str | None]) -> str:
    """The instant answer (the passages' own sentences, verified and cited), marked as such: the
    model's answer will replace it."""
    return ('<div class="rag-quick"><p class="rag-quick-head">Quick answer: the documents\' own sentences closest '
            "to your question, each checked against its source. The model's answer follows.</p>"
            f"{_as_preview(render_answer(answer, documents))}</div>")


def _as_preview(rendered: str) -> str:
    """A rendered answer as a preview: its body is not marked as the finished answer (the page and
    the history read ``rag-answer`` as that), and it has no copy button or meta line."""
    rendered = rendered.replace('class="rag-answer"', 'class="rag-quick-body"', 1)
    return re.sub(r'<div class="rag-actions">.*?</div>(?=</div>$)', "", rendered, flags=re.S)


def render_checked(found: str, checked: str) -> str:
    """The model's sentences so far that their sources support (nothing unchecked is shown)."""
    return (f'{found}<div class="rag-draft"><p class="rag-quick-head">The model\'s answer so far, each sentence '
            f'checked against its source:</p>{text(checked)}<span class="rag-caret" aria-hidden="true"></span></div>')


def render_citation(citation: Citation, document_text: str | None, answer_id: int, note: str = "") -> str:
    """One source: the quote highlighted in its document's context, and the link to the original
    (and ``note``, e.g. that a saved answer's document has changed since)."""
    if document_text is not None and document_text[citation.start:citation.end] == citation.quote:
        start = max(0, citation.start - CONTEXT_CHARS)
        end = min(len(document_text), citation.end + CONTEXT_CHARS)
        # Cut the context at whitespace so that it never starts or ends in the middle of a word.
        if start > 0:
            start = _next_space(document_text, start, citation.start)
        if end < len(document_text):
            end = _previous_space(document_text, end, citation.end)
        body = (f"{'… ' if start > 0 else ''}{text(document_text[start:citation.start])}"
                f"<mark>{text(citation.quote)}</mark>{text(document_text[citation.end:end])}"
                f"{' …' if end < len(document_text) else ''}")
    else:
        body = f"<mark>{text(citation.quote)}</mark>"
    page = f" · page {citation.page}" if citation.page is not None else ""
    return (f'<details class="rag-source" id="src-{answer_id}-{citation.n}">'
            f'<summary><span class="rag-n">[{citation.n}]</span> {html.escape(citation.title)}{page}'
            f'{f""" <span class="rag-stale">({html.escape(note)})</span>""" if note else ""}</summary>'
            f'<blockquote class="rag-context">{body}</blockquote>'
            f'<p class="rag-where">{render_source_link(citation.source)}'
            f'<span class="rag-offsets"> · characters {citation.start}–{citation.end} of '
            f"<code>{html.escape(citation.doc_id)}</code></span></p></details>")


def render_answer(answer: Answer, documents: dict[str, str | None], meta: str = "",
                  notes: Mapping[int, str] | None = None) -> str:
    """The verified answer with linked [n] markers, its sources, a copy button and ``meta``;
    ``notes`` are shown next to the citations they number."""
    if answer.abstained:
        return render_decline(answer)
    answer_id = next(_answer_ids)
    uncovered = [p for p in answer.parts if not p.answered]
    # The line naming what the documents do not answer is shown apart, not as a claim.
    answered = without_uncovered_line(answer.text) if uncovered else answer.text
    body = _MARKER.sub(
        lambda m: f'<a class="rag-cite" href="#src-{answer_id}-{m.group(1)}" '
                  f'title="Show source {m.group(1)}">[{m.group(1)}]</a>', text(answered))
    if uncovered:
        asked = "; ".join(f"“{p.text}”" for p in uncovered)
        body += (f'<p class="rag-uncovered"><strong>Not in the documents:</strong> {html.escape(asked)}</p>')
    sources = "".join(render_citation(c, documents.get(c.doc_id), answer_id, (notes or {}).get(c.n, ""))
                      for c in answer.citations)
    removed = [v for v in answer.trace.get("verdicts", []) if v.get("status") in ("unsupported", "out-of-range-only")]
    note = ""
    if answer.trace.get("answered_by"):
        # The draft streamed above was declined; say why the answer reads as quotes.
        why = ("found no answer in the passages" if answer.trace.get("first_declined_by") == "generator"
               else "wrote an answer that the passages do not support")
        note = (f'<p class="rag-note">The model {why}, so the answer quotes the passages\' own sentences '
                "that it read as answering the question.</p>")
    elif removed:
        note = (f'<p class="rag-note">{len(removed)} sentence{"s" if len(removed) != 1 else ""} of the draft '
                f"{'were' if len(removed) != 1 else 'was'} left out because no passage supports "
                f"{'them' if len(removed) != 1 else 'it'}.</p>")
    return (f'<div class="rag-msg"><div class="rag-answer">{body}</div>{note}'
            f'<div class="rag-sources"><p class="rag-sources-head">Sources</p>{sources}</div>'
            f'<div class="rag-actions"><button class="rag-copy" type="button">Copy answer with citations</button>'
            f'<span class="rag-meta">{html.escape(meta)}</span></div></div>')


def render_decline(answer: Answer) -> str:
    """A friendly "not in the documents" with what to try next."""
    return (f'<div class="rag-msg rag-declined"><p><strong>Not in the documents.</strong> {text(answer.text)}</p>'
            '<p class="rag-hint">Try asking in other words, widen the search settings, or add a document '
            "about it in the Documents tab.</p></div>")


def render_error(message: str, hint: str = "") -> str:
    """An error as a sentence the user can act on."""
    message = message.strip()
    message = message[:1].upper() + message[1:]
    if message and message[-1] not in ".!?":
        message += "."
    hint_html = f'<p class="rag-hint">{html.escape(hint)}</p>' if hint else ""
    return f'<div class="rag-msg rag-error" role="alert"><p>{text(message)}</p>{hint_html}</div>'


def answer_text(rendered: str) -> str:
    """The plain answer text inside a rendered message (for follow-up questions); "" if none."""
    match = re.search(r'<div class="rag-answer">(.*?)</div>', rendered, re.DOTALL)
    if not match:
        return ""
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1).replace("<br>", "\n")))


def _snippet(passage: str) -> str:
    flat = " ".join(passage.split())
    return flat if len(flat) <= SNIPPET_CHARS else flat[:SNIPPET_CHARS].rsplit(" ", 1)[0] + "…"


def _next_space(document: str, position: int, limit: int) -> int:
    found = document.find(" ", position, limit)
    return found + 1 if found != -1 else position


def _previous_space(document: str, position: int, limit: int) -> int:
    found = document.rfind(" ", limit, position)
    return found if found != -1 else position
