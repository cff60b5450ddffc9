"""The page: a chat tab with its search settings, and a documents tab; theme, styles and script."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import gradio as gr
from gradio.components.chatbot import ChatbotDataMessages, TextMessage
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from ..assistant import Assistant
from ..collections import Collections
from ..config import Settings
from ..conversations import ConversationStore
from ..errors import RagError
from ..feedback import REASONS, FeedbackStore
from ..loading import supported_suffixes
from .chat import MAX_K, MIN_K, Backends, CorpusBackends, SearchOptions, respond
from .corpus import Corpus, UploadResult
from .guard import AccessGuard, LoginLimiter, allowed_hosts
from .history import ChatHistory, owner_of
from .ratings import Ratings
from .render import render_error

ASSETS = Path(__file__).parent / "assets"
TITLE = "Cited"
TAGLINE = "Answers from your documents, every sentence linked to the passage it came from."
EXAMPLES = ["What did Russia send Cuba and why?", "Who ordered the delivery?",
            "How many people were arrested during the protests?"]
CSS = (ASSETS / "style.css").read_text(encoding="utf-8")
JS_HEAD = f"<script>\n{(ASSETS / 'chat.js').read_text(encoding='utf-8')}\n</script>"
BACKEND_HELP = {"extractive": "extractive: quotes the best sentences, instantly",
                "llamacpp": "llamacpp: writes with the local LLM (about 10 s)",
                "openai": "openai: writes with the configured OpenAI-compatible server",
                "chat": "chat: writes with the LangChain chat model of RAG_CHAT_MODEL"}


def make_theme() -> gr.themes.Base:
    """Gradio's default look with fonts served by the app itself or the system: no font CDN."""
    return gr.themes.Default(
        primary_hue="indigo", neutral_hue="slate",
        font=[gr.themes.LocalFont("Source Sans Pro"), "ui-sans-serif", "system-ui", "-apple-system",
              "Segoe UI", "Roboto", "sans-serif"],
        font_mono=[gr.themes.LocalFont("IBM Plex Mono"), "ui-monospace", "SFMono-Regular", "Menlo", "monospace"])


def launch_options(settings: Settings, logins: LoginLimiter | None = None, routes: Sequence[BaseRoute] = (),
                   lifespan: Callable[[Any], Any] | None = None) -> dict[str, Any]:
    """Keyword arguments for ``Blocks.launch`` that make the page look and behave as designed,
    with the access rules of ``guard`` (Host allow-list, login rate limit) in front of it, and
    more ``routes`` (the APIs of ``rag.api``, with their ``lifespan``) served before the page's."""
    guard = Middleware(AccessGuard, hosts=allowed_hosts(settings), logins=logins or LoginLimiter())
    app_kwargs: dict[str, Any] = {"middleware": [guard], "routes": list(routes)}
    if lifespan is not None:
        app_kwargs["lifespan"] = lifespan
    return {"theme": make_theme(), "css": CSS, "head": JS_HEAD,
            "max_file_size": settings.max_upload_mb * 1024 * 1024, "footer_links": ["api", "settings"],
            "app_kwargs": app_kwargs}


def show_user_messages_as_text(chatbot: gr.Chatbot) -> gr.Chatbot:
    """Make ``chatbot`` show what the user typed as text, never as HTML.

    The assistant's messages are HTML that ``render`` built from escaped text; the user's are
    escaped on the way to the page and unescaped on the way back, so the history stays as typed.
    (The hooks are set on the instance: a subclass would make Gradio write a stub file.)"""
    to_page, from_page = chatbot.postprocess, chatbot.preprocess

    def postprocess(value: Any) -> ChatbotDataMessages:
        data = to_page(value)
        _map_user_text(data, lambda text: html.escape(text, quote=False))
        return data

    def preprocess(payload: ChatbotDataMessages | None) -> Any:
        _map_user_text(payload, html.unescape)
        return from_page(payload)

    chatbot.postprocess = postprocess  # type: ignore[method-assign]
    chatbot.preprocess = preprocess  # type: ignore[method-assign]
    return chatbot


def _map_user_text(data: ChatbotDataMessages | None, change: Callable[[str], str]) -> None:
    for message in data.root if data is not None else []:
        if message.role == "user":
            for part in message.content:
                if isinstance(part, TextMessage):
                    part.text = change(part.text)


def render_upload_results(results: list[UploadResult]) -> str:
    """One line per uploaded file: added, or why not."""
    if not results:
        return ""
    items = "".join(f'<li class="{"ok" if r.ok else "failed"}"><strong>{html.escape(r.name)}</strong>: '
                    f"{html.escape(r.message)}</li>" for r in results)
    return f'<ul class="rag-upload-results">{items}</ul>'


def build_app(assistant: Assistant, backends: Backends | None = None) -> gr.Blocks:
    """The chat page: a Chat tab with search settings, and a Documents tab (``backends``: the
    assistants per backend, when the process shares them with its APIs)."""
    backends = backends or Backends(assistant)
    corpora = CorpusBackends(Collections(assistant), backends)
    corpus = Corpus(assistant)
    settings = assistant.settings
    saved = ChatHistory(assistant, ConversationStore.in_data_dir(settings.data_dir))
    ratings = Ratings(FeedbackStore.in_data_dir(settings.data_dir), saved)
    backend_names = backends.available()

    with gr.Blocks(title=f"{TITLE}: answers from your documents", analytics_enabled=False) as app:
        gr.HTML(f'<header class="rag-header"><h1><span class="rag-logo">❝</span> {TITLE}</h1>'
                f"<p>{html.escape(TAGLINE)}</p></header>")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                with gr.Row(equal_height=False):
                    # Rendered first so that the chat takes them as already placed; CSS puts this
                    # column after the chat (to its right, or under it on a phone).
                    with gr.Column(scale=1, min_width=240, elem_classes=["rag-side"]):
                        new_chat = gr.Button("New conversation", icon=None, size="md", elem_id="rag-new-chat")
                        with gr.Accordion("Conversations", open=True, elem_id="rag-conversations"):
                            conversation = gr.Radio([], value=None, label="Saved conversations", show_label=False,
                                                    elem_id="rag-saved")
                            with gr.Row():
                                new_title = gr.Textbox(placeholder="New title", show_label=False, max_lines=1,
                                                       scale=3, min_width=120, elem_id="rag-title")
                                rename = gr.Button("Rename", size="sm", scale=1, min_width=70, elem_id="rag-rename")
                            with gr.Row():
                                download = gr.DownloadButton("Download .md", value=None, size="sm",
                                                             elem_id="rag-download")
                                delete = gr.Button("Delete", variant="stop", size="sm", elem_id="rag-delete")
                            history_status = gr.HTML(elem_id="rag-history-status")
                        with gr.Accordion("Search settings", open=True, elem_id="rag-settings"):
                            # Shown when the store holds more than one corpus (collection).
                            corpus_choice = gr.Dropdown([], value=None, label="Corpus", visible=False, allow_custom_value=True,
                                                        elem_id="rag-corpus",
                                                        info="The collection of documents the answers come from.")
                            top_k = gr.Slider(MIN_K, MAX_K, value=max(MIN_K, min(MAX_K, settings.top_k)), step=1,
                                              label="Passages to read (top-k)",
                                              info="More passages: broader answers, a little slower.")
                            help_text = "; ".join(BACKEND_HELP[n] for n in backend_names if n in BACKEND_HELP)
                            backend = gr.Dropdown(backend_names, value=backends.default, label="Answering backend",
                                                  info=help_text)
                            # Choices arrive with the page load (after any login): the API description that
                            # Gradio shows before login would list them otherwise.
                            documents = gr.Dropdown([], value=[], multiselect=True,
                                                    allow_custom_value=True, label="Only these documents",
                                                    info="Leave empty to search them all.")
                            with gr.Row():
                                date_from = gr.Textbox(label="Dated from", placeholder="YYYY-MM-DD", max_lines=1,
                                                       min_width=110)
                                date_to = gr.Textbox(label="to", placeholder="YYYY-MM-DD", max_lines=1, min_width=110)
                            gr.Markdown("Dates apply to documents that carry one; others are left out when a "
                                        "date is set.", elem_classes=["rag-side-help"])
                    with gr.Column(scale=4, min_width=320, elem_classes=["rag-main"]):
                        chatbot = gr.Chatbot(
                            height="62vh", min_height=380, sanitize_html=True, render_markdown=False,
                            allow_tags=False, group_consecutive_messages=False, show_label=False,
                            buttons=[], feedback_options=("Like", "Dislike"), elem_id="rag-chatbot",
                            placeholder=f"<strong>Ask about your documents.</strong><br>{html.escape(TAGLINE)}")
                        show_user_messages_as_text(chatbot)

                        def chat(message: str, history: list[dict[str, Any]], top_k: float = settings.top_k,
                                 backend: str | None = None, documents: list[str] | None = None,
                                 date_from: str | None = None, date_to: str | None = None,
                                 collection: str | None = None,
                                 request: gr.Request = None) -> Iterator[str]:  # type: ignore[assignment]
                            """Answer a question with citations, streamed as HTML; settings are optional."""
                            try:
                                options = SearchOptions.parse(top_k, backend, documents, date_from, date_to)
                                answering = corpora.backends(collection)
                            except RagError as error:
                                yield render_error(str(error))
                                return
                            used = {"collection": answering.collection, "top_k": options.k or settings.top_k,
                                    "backend": options.backend or backends.default,
                                    "doc_ids": list(options.filters.doc_ids), "date_from": options.filters.date_from,
                                    "date_to": options.filters.date_to}
                            yield from respond(answering, message, history, options,
                                               on_answer=lambda answer: saved.record(answer, request, bool(history),
                                                                                     used))

                        interface = gr.ChatInterface(
                            fn=chat, chatbot=chatbot, examples=[[q] for q in EXAMPLES],
                            additional_inputs=[top_k, backend, documents, date_from, date_to, corpus_choice],
                            textbox=gr.Textbox(placeholder="Ask a question about the documents…",
                                               show_label=False, autofocus=True, max_lines=6, elem_id="rag-question",
                                               submit_btn=True, stop_btn=True),
                            api_name="chat", fill_height=False, save_history=False, autofocus=True,
                            # No limit per event: a backend that answers one at a time queues its
                            # answers itself (Backends.admit), so they never hold up other answers.
                            concurrency_limit=None)
                        rated_id = gr.State(None)
                        with gr.Group(visible=False, elem_id="rag-feedback") as feedback_panel:
                            reason = gr.Radio([(label, key) for key, label in REASONS.items()], value=None,
                                              label="What was wrong with this answer?", elem_id="rag-reason")
                            expected = gr.Textbox(label="The answer you expected (optional)", max_lines=4,
                                                  elem_id="rag-expected")
                            send_feedback = gr.Button("Send", size="sm", elem_id="rag-send-feedback")
                        feedback_status = gr.HTML(elem_id="rag-feedback-status")
                def start_new(request: gr.Request) -> tuple[Any, ...]:
                    saved.new(request)
                    return [], [], gr.update(value=None), gr.update(value=None), ""

                new_chat.click(start_new, None, [interface.chatbot, interface.chatbot_state, conversation, download,
                                                 history_status], api_visibility="private", queue=False)

                def listed(request: gr.Request) -> tuple[Any, Any]:
                    current = saved.current(request)
                    choices = saved.choices(request)
                    file = saved.markdown_file(current, request) if current in {i for _, i in choices} else None
                    return gr.update(choices=choices, value=current), gr.update(value=file)

                def reopen(conversation_id: str | None, request: gr.Request) -> tuple[Any, ...]:
                    if not conversation_id:
                        return gr.update(), gr.update(), gr.update(), ""
                    try:
                        messages = saved.open(conversation_id, request)
                        file = saved.markdown_file(conversation_id, request)
                    except RagError as error:
                        return gr.update(), gr.update(), gr.update(value=None), render_error(str(error))
                    return messages, messages, gr.update(value=file), ""

                def renamed(conversation_id: str | None, title: str, request: gr.Request) -> tuple[Any, ...]:
                    try:
                        if not conversation_id:
                            raise RagError("choose a conversation to rename first")
                        saved.rename(conversation_id, title, request)
                    except RagError as error:
                        return (*listed(request), gr.update(), render_error(str(error)))
                    return (*listed(request), "", "")

                def deleted(conversation_id: str | None, request: gr.Request) -> tuple[Any, ...]:
                    try:
                        if not conversation_id:
                            raise RagError("choose a conversation to delete first")
                        was_open = saved.current(request) == conversation_id
                        saved.delete(conversation_id, request)
                    except RagError as error:
                        return (*listed(request), gr.update(), gr.update(), render_error(str(error)))
                    cleared = [] if was_open else gr.update()
                    return (*listed(request), cleared, cleared, "")

                def rate(data: gr.LikeData, messages: list[dict[str, Any]], request: gr.Request) -> tuple[Any, ...]:
                    try:
                        feedback_id = ratings.rate(data.index, data.liked, messages, request)
                    except RagError as error:
                        return None, gr.update(visible=False), render_error(str(error))
                    if feedback_id is None:
                        return None, gr.update(visible=False), ""
                    if data.liked:
                        return None, gr.update(visible=False), '<p class="rag-hint">Thanks: noted as a good answer.</p>'
                    return (feedback_id, gr.update(visible=True),
                            '<p class="rag-hint">Noted. Say what was wrong, so that it becomes a test case.</p>')

                def explain(feedback_id: int | None, why: str | None, answer: str, request: gr.Request
                            ) -> tuple[Any, ...]:
                    try:
                        if feedback_id is None:
                            raise RagError("rate an answer with the thumbs down first")
                        if not why:
                            raise RagError("choose what was wrong with the answer")
                        ratings.explain(feedback_id, why, answer or "", request)
                    except RagError as error:
                        return feedback_id, gr.update(), gr.update(), gr.update(), render_error(str(error))
                    return (None, gr.update(visible=False), gr.update(value=None), gr.update(value=""),
                            '<p class="rag-hint">Thanks: it will be a test case of the feedback suite.</p>')

                chatbot.like(rate, [chatbot], [rated_id, feedback_panel, feedback_status], api_visibility="private")
                send_feedback.click(explain, [rated_id, reason, expected],
                                    [rated_id, feedback_panel, reason, expected, feedback_status],
                                    api_visibility="private")

                # After each answer (it is saved as it is given) the list shows the conversation. The
                # chat's own events end in no event of ours; its messages change, the last run counts.
                interface.chatbot.change(listed, None, [conversation, download], api_visibility="private",
                                         trigger_mode="always_last", show_progress="hidden")
                conversation.input(reopen, [conversation], [interface.chatbot, interface.chatbot_state, download,
                                                            history_status], api_visibility="private")
                rename.click(renamed, [conversation, new_title], [conversation, download, new_title, history_status],
                             api_visibility="private")
                delete.click(deleted, [conversation], [conversation, download, interface.chatbot,
                                                       interface.chatbot_state, history_status],
                             api_visibility="private")
                app.load(listed, None, [conversation, download], api_visibility="private")

            with gr.Tab("Documents", id="documents") as documents_tab:
                gr.Markdown(
                    f"Add files to the corpus the chat answers from. Supported: "
                    f"{', '.join(supported_suffixes())}; up to {settings.max_upload_mb} MB each. "
                    "Archives are not unpacked: upload the files inside them.")
                upload = gr.File(label="Add documents", file_count="multiple", type="filepath",
                                 elem_id="rag-upload", height=140)
                upload_status = gr.HTML(elem_id="rag-upload-status")
                table = gr.Dataframe([], headers=["Title", "Passages", "Format", "Source", "Id"],
                                     datatype=["str", "number", "str", "str", "str"], interactive=False,
                                     wrap=True, label="Documents in the corpus", elem_id="rag-documents",
                                     buttons=["fullscreen"], max_height=420,
                                     column_widths=["34%", "90px", "90px", "28%", "22%"])
                with gr.Row(equal_height=False, elem_classes=["rag-remove-row"]):
                    to_remove = gr.Dropdown([], value=None, label="Remove a document", scale=4,
                                            elem_id="rag-remove-choice")
                    remove = gr.Button("Remove", variant="stop", scale=0, min_width=120, elem_id="rag-remove")
                remove_status = gr.HTML(elem_id="rag-remove-status")

        def refreshed(selected: list[str] | None = None, collection: str | None = None) -> tuple[Any, Any, Any]:
            choices = corpus.choices()
            try:  # the chat's document filter lists the documents of the corpus it answers from
                filter_choices = Corpus(corpora.backends(collection).get(None)).choices() if collection else choices
            except RagError:
                filter_choices = choices
            known = {doc_id for _, doc_id in filter_choices}
            return (gr.update(value=corpus.rows()),
                    gr.update(choices=filter_choices, value=[d for d in (selected or []) if d in known]),
                    gr.update(choices=choices, value=None))

        def corpora_listed() -> Any:
            names = corpora.collections.names()
            return gr.update(choices=names, value=names[0], visible=len(names) > 1)

        def add_uploads(files: list[str] | None, selected: list[str] | None, collection: str | None,
                        progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008
            uploads = [(Path(f), Path(f).name) for f in (files or [])]
            results = corpus.add_files(uploads, lambda fraction, what: progress(fraction, desc=what))
            return (render_upload_results(results), *refreshed(selected, collection), None)

        def remove_document(doc_id: str | None, selected: list[str] | None, collection: str | None
                            ) -> tuple[Any, ...]:
            if not doc_id:
                message = '<p class="rag-hint">Choose a document to remove first.</p>'
            else:
                try:
                    message = f"<p>{html.escape(corpus.remove(doc_id))}</p>"
                except RagError as error:
                    message = f'<p class="rag-error">{html.escape(str(error))}</p>'
            return (message, *refreshed(selected, collection))

        upload.upload(add_uploads, [upload, documents, corpus_choice],
                      [upload_status, table, documents, to_remove, upload],
                      api_visibility="private", concurrency_limit=1)
        remove.click(remove_document, [to_remove, documents, corpus_choice], [remove_status, table, documents, to_remove],
                     api_visibility="private", concurrency_limit=1)
        documents_tab.select(refreshed, [documents, corpus_choice], [table, documents, to_remove],
                             api_visibility="private")
        app.load(refreshed, [documents, corpus_choice], [table, documents, to_remove], api_visibility="private")
        app.load(corpora_listed, None, [corpus_choice], api_visibility="private")
        corpus_choice.input(lambda name: refreshed([], name)[1], [corpus_choice], [documents], api_visibility="private")

        def ask(question: str) -> dict:
            """Answer one question; returns the same JSON object as ``python -m rag ask --json``."""
            try:
                with backends.admit(None) as default:
                    return default.ask(question).to_json()
            except RagError as error:
                raise gr.Error(str(error)) from error

        gr.api(ask, api_name="ask", concurrency_limit=None)

        def conversations(request: gr.Request) -> list[dict]:
            """The caller's saved conversations, newest first: id, title and turns (questions and answers)."""
            owner = owner_of(request)
            return [saved.store.get(c.id, owner).to_json() for c in saved.store.list_conversations(owner)]

        gr.api(conversations, api_name="conversations", concurrency_limit=None)
    return app
