"""MCP tools over the corpus, served by the chat process at ``/mcp`` (streamable HTTP):

    search(query, k, doc_ids)      the passages, as ``rag search --json`` lists them
    ask(question, doc_ids)         the verified answer, as ``rag ask --json`` prints it

The tools call the chat's own assistants (``Backends``), so they answer exactly as the chat does.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from starlette.routing import BaseRoute

from ..assistant import clean_question
from ..errors import RagError
from ..retrieval import Filters
from ..ui.chat import MAX_K, MIN_K, Backends

PATH = "/mcp"


@contextlib.contextmanager
def told() -> Iterator[None]:
    """A project error reaches the client as the tool's error, with its message (others stay
    on the server, as the SDK's generic "Error executing tool")."""
    try:
        yield
    except RagError as error:
        raise ToolError(str(error)) from error


def mcp_server(backends: Backends) -> MCPServer:
    """The MCP server with the ``search`` and ``ask`` tools."""
    server = MCPServer(name="cited", instructions="Search a document collection, or ask it a question and get an "
                                                  "answer whose every sentence cites a quote from the documents.")

    @server.tool()
    def search(query: str, k: int = 5, doc_ids: list[str] | None = None) -> dict[str, Any]:
        """Find the passages of the documents most relevant to a query, best first."""
        with told():
            hits = backends.get(None).retriever.search(clean_question(query), max(MIN_K, min(MAX_K, k)),
                                                       Filters(doc_ids=tuple(doc_ids or ())))
        return {"query": query, "hits": [hit.to_json(rank) for rank, hit in enumerate(hits, start=1)]}

    @server.tool()
    def ask(question: str, doc_ids: list[str] | None = None) -> dict[str, Any]:
        """Answer a question from the documents only: the answer cites passages as [n], and each
        citation gives its quote and character offsets; 'abstained' is true when the documents
        do not answer it."""
        with told(), backends.admit(None) as assistant:
            return assistant.ask(question, filters=Filters(doc_ids=tuple(doc_ids or ()))).to_json()

    return server


def mcp_routes(server: MCPServer) -> list[BaseRoute]:
    """The route serving ``server`` at ``/mcp``; its session manager must run in the app's lifespan.

    Stateless and JSON-answered: every call stands alone, so no session state lives in the process.
    The chat's Host allow-list (``ui.guard``) already guards against DNS rebinding."""
    app = server.streamable_http_app(streamable_http_path=PATH, stateless_http=True, json_response=True,
                                     transport_security=TransportSecuritySettings(
                                         enable_dns_rebinding_protection=False))
    return list(app.routes)
