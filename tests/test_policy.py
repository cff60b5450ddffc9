"""Each check of the answer policy on its own, then the order they run in (real verifier and model)."""

from __future__ import annotations

import pytest

from rag.generation.base import NOT_IN_CORPUS, number_passages
from rag.policy import (
    ANSWER_TYPE,
    GENERATOR,
    ORDER,
    RETRIEVAL_THRESHOLD,
    VERIFICATION,
    AnswerPolicy,
    Reading,
    answer_type_given,
    generator_answered,
    verification_kept,
)
from rag.types import Chunk, Citation, Hit
from rag.verification import VerifiedAnswer, Verifier

TEXT = "Russia sent nearly 100 tons of humanitarian aid to Cuba. The delivery was ordered by President Putin."
PASSAGES = number_passages([Chunk(id="a:0", doc_id="a", title="Aid", source="", text=TEXT, start=0, end=len(TEXT),
                                  index=0, doc_version="1")])
CITATION = Citation(n=1, doc_id="a", title="Aid", source="", quote=TEXT[:56], start=0, end=56)


def reading(raw: str = "", question: str = "", verified: VerifiedAnswer | None = None) -> Reading:
    return Reading(raw, PASSAGES, question, verified=verified)


@pytest.mark.parametrize("raw, passes", [
    ("Russia sent aid [1].", True),
    (NOT_IN_CORPUS, False),
    ("", False),
])
def test_generator_check(raw: str, passes: bool) -> None:
    assert generator_answered(reading(raw)) is passes


@pytest.mark.parametrize("verified, passes", [
    (VerifiedAnswer("Russia sent aid [1].", [CITATION]), True),
    (VerifiedAnswer("Russia sent aid.", []), False),                      # nothing cited survived
    (VerifiedAnswer("", [CITATION], declined=True), False),
    (None, False),
])
def test_verification_check(verified: VerifiedAnswer | None, passes: bool) -> None:
    assert verification_kept(reading(verified=verified)) is passes


@pytest.mark.parametrize("question, text, passes", [
    ("How much aid did Russia send?", "Russia sent nearly 100 tons of aid [1].", True),
    ("How much aid did Russia send?", "The delivery was ordered by President Putin [1].", False),
    ("Who ordered the delivery?", "The delivery was ordered by President Putin [1].", True),   # not a quantity question
])
def test_answer_type_check(question: str, text: str, passes: bool) -> None:
    assert answer_type_given(reading(question=question, verified=VerifiedAnswer(text, [CITATION]))) is passes


def test_the_checks_run_in_order_and_name_the_first_that_fails(embeddings) -> None:  # type: ignore[no-untyped-def]
    policy = AnswerPolicy(Verifier(embeddings), embeddings, min_relevance=0.3)
    assert [c.name for c in policy.text_checks] == [GENERATOR, VERIFICATION, ANSWER_TYPE]
    assert list(ORDER[1:4]) == [GENERATOR, VERIFICATION, ANSWER_TYPE]
    trace: dict[str, object] = {}
    assert policy.conclude(NOT_IN_CORPUS, PASSAGES, "How much aid?", trace) == (None, GENERATOR)
    assert "verdicts" not in trace   # a declined draft is not verified
    assert policy.conclude("Cuba sent 7 ships to Russia [1].", PASSAGES, "Who sent ships?", trace) == (None, VERIFICATION)
    beside = "The delivery was ordered by President Putin [1]."
    assert policy.conclude(beside, PASSAGES, "How much aid did Russia send?", trace) == (None, ANSWER_TYPE)
    verified, declined_by = policy.conclude(beside, PASSAGES, "How much aid did Russia send?", trace, check_type=False)
    assert declined_by is None and verified is not None and "Putin" in verified.text


def test_the_retrieval_threshold(embeddings) -> None:  # type: ignore[no-untyped-def]
    hits = [Hit(chunk=PASSAGES[0].chunk, score=0.0, relevance=0.1)]
    trace: dict[str, object] = {}
    assert AnswerPolicy(Verifier(embeddings), embeddings, 0.3).retrieval("Who ordered the delivery?", hits, trace) is None
    assert isinstance(trace["evidence_score"], float)
    assert AnswerPolicy(Verifier(embeddings), embeddings, 0.99).retrieval(
        "What is the capital of France?", hits, trace) == RETRIEVAL_THRESHOLD
