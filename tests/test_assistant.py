from __future__ import annotations

from typing import Iterator, Sequence

import pytest

from rag.assistant import Assistant, Done, Sources, Status, Token, clean_question
from rag.errors import InputError
from rag.generation.base import Passage
from rag.question_parts import QuestionPart

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
    chat_model = None
    lock = None

    def stream(self, question: str, passages: Sequence[Passage], parts: Sequence[QuestionPart] = ()) -> Iterator[str]:
        n = next(p.n for p in passages if "ordered by President" in p.chunk.text)
        yield f"The delivery was directly ordered by President Vladimir Putin [{n}]."


def test_a_how_much_question_answered_without_an_amount_is_declined(seed_assistant: Assistant) -> None:
    assistant = Assistant(seed_assistant.settings, seed_assistant.store, seed_assistant.retriever, AnswersBeside(),
                          seed_assistant.verifier)
    declined = assistant.ask("How much did the Russian aid shipment to Cuba cost?")
    assert declined.abstained and declined.trace["declined_by"] == "answer type"
    assert not assistant.ask("Who ordered the Russian aid shipment to Cuba?").abstained


class SaysNotInCorpus:
    """A model that declines everything: its NOT_IN_CORPUS must not stand when the passages answer."""

    name = "declines"
    chat_model = None
    lock = None

    def stream(self, question: str, passages: Sequence[Passage], parts: Sequence[QuestionPart] = ()) -> Iterator[str]:
        yield "NOT_IN_CORPUS"


class WritesUnsupported:
    """A model whose paraphrase fails verification (a number the passages do not hold)."""

    name = "unsupported"
    chat_model = None
    lock = None

    def stream(self, question: str, passages: Sequence[Passage], parts: Sequence[QuestionPart] = ()) -> Iterator[str]:
        yield "The delivery was ordered by President Vladimir Putin on 14 March [1]."


class ScriptedGrader:
    """Says YES to sentences containing one of ``yes`` (the real grader is the LLM: test_generation.py)."""

    def __init__(self, *yes: str) -> None:
        self.yes = yes
        self.asked: list[str] = []

    def answers(self, question: str, text: str) -> bool:
        self.asked.append(text)
        return any(word in text for word in self.yes)


def with_fallback(seed_assistant: Assistant, generator: object, grader: object | None,
                  **settings: object) -> Assistant:
    from rag.generation.extractive import ExtractiveGenerator
    return Assistant(seed_assistant.settings.model_copy(update=settings), seed_assistant.store,
                     seed_assistant.retriever, generator, seed_assistant.verifier,  # type: ignore[arg-type]
                     fallback=ExtractiveGenerator(seed_assistant.retriever.embeddings), grader=grader)  # type: ignore[arg-type]


@pytest.mark.parametrize("generator, first", [(SaysNotInCorpus(), "generator"), (WritesUnsupported(), "verification")])
def test_the_fallback_answers_when_the_llm_answer_is_declined(seed_assistant: Assistant, generator: object,
                                                              first: str) -> None:
    grader = ScriptedGrader("Putin")
    answer = with_fallback(seed_assistant, generator, grader).ask("Who ordered the delivery of aid to Cuba?")
    assert not answer.abstained, answer.trace
    assert answer.trace["first_declined_by"] == first and answer.trace["answered_by"] == "extractive"
    assert "Putin" in answer.text and "14 March" not in answer.text
    text = seed_text()
    assert all(text[c.start:c.end] == c.quote for c in answer.citations)
    # Only the graded sentences are kept: every quote is one the grader said answers the question.
    assert grader.asked and all("Putin" in c.quote for c in answer.citations)
    # The chat says why the answer reads as quotes after a draft that was not kept.
    from rag.ui.render import render_answer
    why = "found no answer" if first == "generator" else "do not support"
    assert why in render_answer(answer, {}, meta="") and "quotes the passages" in render_answer(answer, {}, meta="")
    from rag.ui.chat import _meta
    assert _meta(answer, with_fallback(seed_assistant, generator, grader)).startswith(f"{generator.name} → extractive quotes · ")  # type: ignore[attr-defined]


def test_the_fallback_declines_when_no_quoted_sentence_answers(seed_assistant: Assistant) -> None:
    grader = ScriptedGrader()   # nothing answers
    answer = with_fallback(seed_assistant, SaysNotInCorpus(), grader).ask("How many warships docked in Havana?")
    assert answer.abstained and answer.citations == [] and answer.trace["declined_by"] == "grader"
    assert "couldn't find" in answer.text and grader.asked


def test_the_fallback_is_off_for_declines_it_may_not_overturn(seed_assistant: Assistant) -> None:
    answer = with_fallback(seed_assistant, SaysNotInCorpus(), ScriptedGrader("Putin"),
                           fallback_on=("verification",)).ask("Who ordered the delivery of aid to Cuba?")
    assert answer.abstained and answer.trace["declined_by"] == "generator" and "answered_by" not in answer.trace


def test_the_default_llm_assistant_gets_an_extractive_fallback_and_a_grader(seed_settings) -> None:  # type: ignore[no-untyped-def]
    from rag.generation.extractive import ExtractiveGenerator
    from rag.grading import make_grader
    from rag.wiring import make_fallback
    extractive = ExtractiveGenerator(None)  # type: ignore[arg-type]
    assert make_fallback(seed_settings, extractive, None) == (None, None)   # no fallback to itself
    assert make_grader(extractive) is None                                  # no chat model to read with
    fallback, grader = make_fallback(seed_settings, SaysNotInCorpus(), None)  # type: ignore[arg-type]
    assert isinstance(fallback, ExtractiveGenerator) and grader is None      # a model without a chat model
    assert make_fallback(seed_settings.model_copy(update={"fallback": "none"}), SaysNotInCorpus(), None) == (None, None)  # type: ignore[arg-type]


class WritesTwoSentences:
    """A slow backend's answer: a supported sentence, then one no passage supports."""

    name = "two-sentences"
    chat_model = None
    lock = None

    def stream(self, question: str, passages: Sequence[Passage], parts: Sequence[QuestionPart] = ()) -> Iterator[str]:
        n = next(p.n for p in passages if "ordered by President" in p.chunk.text)
        yield "The delivery was directly ordered by "
        yield f"President Vladimir Putin [{n}]. "
        yield f"The aid was paid for by the Vatican [{n}]. "


def test_a_verified_answer_of_quotes_comes_before_the_slow_backend_writes(seed_assistant: Assistant) -> None:
    from rag.assistant import Checked, QuickAnswer
    from rag.wiring import make_quick
    assistant = Assistant(seed_assistant.settings, seed_assistant.store, seed_assistant.retriever,
                          WritesTwoSentences(), seed_assistant.verifier,  # type: ignore[arg-type]
                          quick=make_quick(seed_assistant.settings, WritesTwoSentences(),  # type: ignore[arg-type]
                                           seed_assistant.retriever.embeddings))
    events = list(assistant.stream("Who ordered the delivery of aid to Cuba?"))
    kinds = [type(e).__name__ for e in events]
    # The quotes come after the sources and before the backend's first word.
    assert kinds.index("Sources") < kinds.index("QuickAnswer") < kinds.index("Token")
    quick = next(e for e in events if isinstance(e, QuickAnswer)).answer
    text = seed_text()
    assert quick.citations and all(text[c.start:c.end] == c.quote for c in quick.citations)
    # Only the backend's supported sentence is ever shown while it writes, never the unsupported one.
    checked = [e.text for e in events if isinstance(e, Checked)]
    assert checked and all("Putin" in t and "Vatican" not in t for t in checked)
    done = events[-1]
    assert isinstance(done, Done) and "Vatican" not in done.answer.text
    assert done.answer.timings_ms["to_first_cited"] <= done.answer.timings_ms["to_first_token"]


def test_no_quick_answer_when_the_backend_is_itself_instant(seed_settings) -> None:  # type: ignore[no-untyped-def]
    from rag.generation.extractive import ExtractiveGenerator
    from rag.wiring import make_quick
    assert make_quick(seed_settings, ExtractiveGenerator(None), None) is None  # type: ignore[arg-type]
    assert make_quick(seed_settings.model_copy(update={"quick_answer": False}), WritesTwoSentences(),  # type: ignore[arg-type]
                      None) is None
