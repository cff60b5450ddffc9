"""The Gradio chat: a thin loop over ``Assistant.stream``; everything shown is escaped text.

Answers stream in; the sources appear as soon as retrieval ends; each [n] marker links to a
collapsible source that shows the quoted passage highlighted in its document, with a link to
the original.
"""

from __future__ import annotations

import html
import itertools
import logging
import re
from typing import Any, Iterator, Sequence

import gradio as gr

from .assistant import Assistant, Done, Sources, Status, Token
from .errors import InputError, RagError
from .types import Answer, Citation, Hit

log = logging.getLogger(__name__)

TITLE = "Cited"
TAGLINE = "Answers from your documents, every sentence linked to the passage it came from."
EXAMPLES = ["What did Russia send Cuba and why?", "Who ordered the delivery?",
            "How many people were arrested during the protests?"]
_CONTEXT_CHARS = 280
_answer_ids = itertools.count(1)
_MARKER = re.compile(r"\[(\d+)\]")


def safe_href(url: str) -> str | None:
    """The URL if it is safe to link to (http, https or file), else None."""
    return url if re.match(r"^(https?|file)://", url.strip(), re.IGNORECASE) else None


def render_link(url: str) -> str:
    """A source as a link when it is safe, as plain text otherwise."""
    href = safe_href(url)
    if href is None:
        return html.escape(url)
    return f'<a href="{html.escape(href, quote=True)}" target="_blank" rel="noopener noreferrer">{html.escape(url)}</a>'


def render_status(stage: str) -> str:
    """The "searching… / writing…" line shown while an answer is on its way."""
    labels = {"searching": "Searching the documents…", "writing": "Writing the answer…",
              "verifying": "Checking every sentence against its source…"}
    return f'<p class="rag-status"><em>{html.escape(labels.get(stage, stage))}</em></p>'


def render_hits(hits: Sequence[Hit]) -> str:
    """The passages found, shown while the answer is being written."""
    if not hits:
        return "<p><em>No passages found.</em></p>"
    items = "".join(f"<li>{html.escape(h.chunk.title)} <small>(relevance {h.relevance:.2f})</small></li>" for h in hits)
    return f'<details class="rag-found"><summary>Found {len(hits)} passage(s)</summary><ol>{items}</ol></details>'


def render_citation(citation: Citation, document_text: str | None, answer_id: int) -> str:
    """One source: the quote highlighted in its context, and the link to the original."""
    if document_text is not None and document_text[citation.start:citation.end] == citation.quote:
        before = document_text[max(0, citation.start - _CONTEXT_CHARS):citation.start]
        after = document_text[citation.end:citation.end + _CONTEXT_CHARS]
        body = (f"{'…' if citation.start > _CONTEXT_CHARS else ''}{html.escape(before)}"
                f"<mark>{html.escape(citation.quote)}</mark>{html.escape(after)}"
                f"{'…' if citation.end + _CONTEXT_CHARS < len(document_text) else ''}")
    else:
        body = f"<mark>{html.escape(citation.quote)}</mark>"
    page = f", page {citation.page}" if citation.page is not None else ""
    return (f'<details class="rag-source" id="src-{answer_id}-{citation.n}">'
            f"<summary>[{citation.n}] {html.escape(citation.title)}{page}</summary>"
            f'<blockquote class="rag-context">{body.replace(chr(10), "<br>")}</blockquote>'
            f"<p>{render_link(citation.source)} <small>· characters {citation.start}–{citation.end} of "
            f"<code>{html.escape(citation.doc_id)}</code></small></p></details>")


def render_answer(answer: Answer, documents: dict[str, str | None]) -> str:
    """The verified answer with linked markers and its sources underneath."""
    answer_id = next(_answer_ids)
    text = html.escape(answer.text)
    if answer.abstained:
        return f'<div class="rag-declined">{text}</div>'
    text = _MARKER.sub(lambda m: f'<a class="rag-cite" href="#src-{answer_id}-{m.group(1)}">[{m.group(1)}]</a>', text)
    sources = "".join(render_citation(c, documents.get(c.doc_id), answer_id) for c in answer.citations)
    note = ""
    removed = [v for v in answer.trace.get("verdicts", []) if v.get("status") in ("unsupported", "out-of-range-only")]
    if removed:
        note = (f'<p class="rag-note"><small>{len(removed)} sentence(s) of the draft were left out '
                "because no passage supports them.</small></p>")
    return f'<div class="rag-answer">{text}</div>{note}<div class="rag-sources"><p><strong>Sources</strong></p>{sources}</div>'


def respond(assistant: Assistant, message: str, history: list[dict[str, Any]]) -> Iterator[str]:
    """Stream one answer as HTML for the chat; errors become friendly messages."""
    turns = _turns(history)
    shown = ""
    try:
        draft = ""
        for event in assistant.stream(message, turns):
            if isinstance(event, Status):
                yield shown + render_status(event.stage)
            elif isinstance(event, Sources):
                shown = render_hits(event.hits)
                yield shown
            elif isinstance(event, Token):
                draft += event.text
                yield shown + f'<div class="rag-draft">{html.escape(draft)}</div>'
            elif isinstance(event, Done):
                documents = {c.doc_id: _document_text(assistant, c.doc_id) for c in event.answer.citations}
                yield render_answer(event.answer, documents)
    except InputError as error:
        yield f'<div class="rag-error">{html.escape(str(error)[:1].upper() + str(error)[1:])}.</div>'
    except RagError as error:
        log.exception("answering failed")
        yield f'<div class="rag-error">Something went wrong: {html.escape(str(error))}</div>'


def _document_text(assistant: Assistant, doc_id: str) -> str | None:
    stored = assistant.store.get_document(doc_id)
    return stored.text if stored else None


def _turns(history: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(question, answer text) pairs from Gradio's message history, markup removed."""
    turns: list[tuple[str, str]] = []
    question = None
    for message in history:
        content = message.get("content")
        text = content if isinstance(content, str) else ""
        if message.get("role") == "user":
            question = text
        elif question is not None:
            turns.append((question, re.sub(r"<[^>]+>", " ", text)))
            question = None
    return turns


CSS = """
.rag-status { opacity: .75 }
.rag-declined { border-left: 3px solid #d97706; padding-left: .6em }
.rag-error { border-left: 3px solid #dc2626; padding-left: .6em }
.rag-source summary { cursor: pointer }
.rag-context mark { background: #fde68a; color: inherit; padding: 0 .1em }
.dark .rag-context mark { background: #92400e }
a.rag-cite { text-decoration: none; font-weight: 600 }
"""

# Clicking [n] opens that source and scrolls to it.
JS_HEAD = """
<script>
document.addEventListener('click', (event) => {
  const link = event.target.closest('a.rag-cite');
  if (!link) return;
  const target = document.getElementById(link.getAttribute('href').slice(1));
  if (target) { event.preventDefault(); target.open = true; target.scrollIntoView({block: 'nearest'}); }
});
</script>
"""


def build_app(assistant: Assistant) -> gr.Blocks:
    """The chat page."""
    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        gr.Markdown(f"# {TITLE}\n{TAGLINE}")
        gr.ChatInterface(
            fn=lambda message, history: (yield from respond(assistant, message, history)),
            chatbot=gr.Chatbot(height=560, sanitize_html=True, render_markdown=False, group_consecutive_messages=False),
            examples=EXAMPLES, api_name="chat", fill_height=True, save_history=False)

        def ask(question: str) -> dict:
            """Answer one question; returns the same JSON object as ``python -m rag ask --json``."""
            try:
                return assistant.ask(question).to_json()
            except RagError as error:
                raise gr.Error(str(error)) from error

        gr.api(ask, api_name="ask")
    return app
