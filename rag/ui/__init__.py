"""The Gradio chat: a thin loop over ``Assistant.stream``; everything shown is escaped text.

    page.py     the layout (Chat and Documents tabs), theme, launch options
    chat.py     one answer as a stream of HTML updates; search settings, bounded
    corpus.py   uploads checked and copied under safe names, the document table, removal
    render.py   the HTML of answers, sources, declines and errors (escaped, links http(s) only)
    assets/     style.css and chat.js (citation clicks, copy with citations), served inline
"""

from .page import CSS, EXAMPLES, JS_HEAD, TAGLINE, TITLE, build_app, launch_options, make_theme

__all__ = ["CSS", "EXAMPLES", "JS_HEAD", "TAGLINE", "TITLE", "build_app", "launch_options", "make_theme"]
