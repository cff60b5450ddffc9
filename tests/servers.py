"""Real servers on loopback for tests and benchmarks: a free port, and a process started and
polled until it answers (``chroma run``, llama.cpp's OpenAI-compatible server)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(command: list[str], ready: Callable[[], bool], log: Path, timeout_s: float = 30,
            poll_s: float = 0.2) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``command`` (output to ``log``), wait until ``ready()`` is true, stop it on exit."""
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout_s
            while not _answers(ready):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{Path(command[0]).name} did not start: {log.read_text(errors='replace')[-2000:]}")
                time.sleep(poll_s)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _answers(ready: Callable[[], bool]) -> bool:
    try:
        return ready()
    except Exception:  # not listening yet
        return False


@contextmanager
def chroma_server(path: Path) -> Iterator[str]:
    """``chroma run`` from the pip package on a free loopback port, storing in ``path``; yields its URL."""
    import chromadb

    port = free_port()
    path.mkdir(parents=True, exist_ok=True)
    command = [str(Path(sys.executable).with_name("chroma")), "run", "--path", str(path / "db"),
               "--host", "127.0.0.1", "--port", str(port)]
    with running(command, lambda: bool(chromadb.HttpClient(host="127.0.0.1", port=port).heartbeat()),
                 path / "server.log"):
        yield f"http://127.0.0.1:{port}"
