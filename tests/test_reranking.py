from __future__ import annotations

import pytest

from rag.config import PROJECT_ROOT
from rag.errors import ConfigError
from rag.reranking import make_reranker
from rag.types import Chunk, Hit


def hit(doc: str, text: str) -> Hit:
    return Hit(chunk=Chunk(id=doc, doc_id=doc, title="", source="", text=text, start=0, end=len(text), index=0,
                           doc_version="v"), score=0.0, relevance=0.0)


def test_unknown_reranker_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown reranker"):
        make_reranker("magic", PROJECT_ROOT / ".rag" / "cache")
    assert make_reranker("none", PROJECT_ROOT / ".rag" / "cache") is None


@pytest.mark.slow
def test_mpnet_reranker_puts_the_answer_first() -> None:
    reranker = make_reranker("mpnet", PROJECT_ROOT / ".rag" / "cache")  # `make test` installs its parts
    hits = [hit("weather", "A heatwave pushed temperatures above forty degrees."),
            hit("aid", "Two An-124 cargo planes carried more than 88 tons of humanitarian support."),
            hit("budget", "The council approved a larger budget for schools.")]
    assert reranker is not None
    assert reranker.rerank("Which aircraft flew the relief shipment?", hits)[0].chunk.doc_id == "aid"
