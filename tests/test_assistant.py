from __future__ import annotations

from typing import Iterator, Sequence

import pytest

from rag.assistant import Assistant, Done, Sources, Status, Token, clean_question
from rag.errors import InputError
from rag.generation.base import Passage

from .conftest import SEED_ID, seed_text


def test_seed_question_is_answered_with_verbatim_citations(seed_assistant: Assistant) -> None:
    answer = seed_assistant.ask("What did Russia send Cuba and why?")
    assert not answer.abstained
    assert "100 tons" in answer.text and "humanitarian aid" in answer.text
    text = seed_text()
    assert answer.citations
    for citation in answer.citations:
        assert citation.doc_id == SEED_ID
        assert text[citation.start:citation.end] == citation.quote
        assert f"[{citation.n}]" in answer.text
    assert answer.citations[0].source == "https://warsawinstitute.org/russia-sends-aid-cuba-regime/"


@pytest.mark.parametrize("question", ["What is the capital of France?", "Who wrote the novel War and Peace?"])
def test_off_topic_questions_are_declined(seed_assistant: Assistant, question: str) -> None:
    answer = seed_assistant.ask(question)
    assert answer.abstained and answer.citations == []
    assert "couldn't find" in answer.text


def test_stream_shows_sources_before_the_answer(seed_assistant: Assistant) -> None:
    events = list(seed_assistant.stream("Who ordered the delivery?"))
    kinds = [type(e) for e in events]
    assert kinds[0] is Status and Sources in kinds and kinds[-1] is Done
    assert kinds.index(Sources) < kinds.index(Token)
    answer = events[-1].answer
    assert "Putin" in answer.text and answer.timings_ms["to_sources"] <= answer.timings_ms["total"]


@pytest.mark.parametrize("question, message", [
    ("", "empty"), ("   \n\t ", "empty"), ("\x00\x01\x02", "empty"), ("?!?", "no words"), ("x" * 5000, "limit"),
])
def test_bad_questions(question: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        clean_question(question)


def test_follow_up_uses_the_conversation(seed_assistant: Assistant) -> None:
    history = [("What did Russia send to Cuba?", "Russia sent nearly 100 tons of humanitarian aid [1].")]
    answer = seed_assistant.ask("What planes carried it?", history=history)
    assert "What did Russia send to Cuba?" in answer.standalone_question
    assert any("An-124" in h.chunk.text for h in answer.hits[:2])


class AnswersBeside:
    """Writes a true, cited sentence that does not say how much: the answer-type check must decline."""

    name = "answers-beside"

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        n = next(p.n for p in passages if "ordered by President" in p.chunk.text)
        yield f"The delivery was directly ordered by President Vladimir Putin [{n}]."


def test_a_how_much_question_answered_without_an_amount_is_declined(seed_assistant: Assistant) -> None:
    assistant = Assistant(seed_assistant.settings, seed_assistant.store, seed_assistant.retriever, AnswersBeside(),
                          seed_assistant.verifier)
    declined = assistant.ask("How much did the Russian aid shipment to Cuba cost?")
    assert declined.abstained and declined.trace["declined_by"] == "answer type"
    assert not assistant.ask("Who ordered the Russian aid shipment to Cuba?").abstained
