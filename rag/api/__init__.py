"""The chat process's APIs for programs, served next to the page by the same server:

    openai_compat.py   /v1/models and /v1/chat/completions (OpenAI clients, Open WebUI)
    mcp_tools.py       /mcp: the search and ask tools over MCP (streamable HTTP)
    login.py           the chat's login for both (Bearer password or HTTP Basic)
"""

from __future__ import annotations

import contextlib
from typing import Any, AsyncIterator, Callable

from starlette.routing import BaseRoute, Mount, Route

from ..ui.chat import Backends
from ..ui.guard import LoginLimiter
from .login import LoginRequired

__all__ = ["api_routes"]


def api_routes(backends: Backends, login: tuple[str, str] | None, logins: LoginLimiter
               ) -> tuple[list[BaseRoute], Callable[[Any], contextlib.AbstractAsyncContextManager[None]]]:
    """The routes of both APIs behind the login, and the lifespan the MCP server needs."""
    from .mcp_tools import mcp_routes, mcp_server
    from .openai_compat import openai_app

    routes: list[BaseRoute] = [Mount("/v1", app=LoginRequired(openai_app(backends), login, logins))]
    server = mcp_server(backends)
    for route in mcp_routes(server):
        if isinstance(route, Route):
            route.app = LoginRequired(route.app, login, logins)
        routes.append(route)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        async with server.session_manager.run():
            yield

    return routes, lifespan
