"""Coverage: which parts of a question the answer's sentences answer, by kind and by meaning."""

from __future__ import annotations

import pytest

from rag.coverage import CoverageChecker, gives_kind, uncovered_line, without_uncovered_line
from rag.question_parts import QuestionPart, question_parts


@pytest.mark.parametrize(("sentence", "kind", "gives"), [
    ("Russia sent nearly 100 tons of aid.", "how much", True),
    ("Russia sent aid.", "how much", False),
    ("The delivery left Moscow on 14 July 2021.", "when", True),
    ("The delivery left Moscow.", "when", False),
    ("Moscow sent aid after the US sanctioned Cuba's defence minister.", "why", True),
    ("Moscow sent aid.", "why", False),
    ("The delivery was ordered by President Vladimir Putin.", "who", True),
    ("the aid arrived.", "who", False),
    ("The planes landed at Havana airport.", "where", True),
    ("The planes landed.", "where", False),
    ("Anything at all.", "what", True),
])
def test_a_sentence_gives_an_answer_of_the_kind_asked(sentence: str, kind: str, gives: bool) -> None:
    assert gives_kind(sentence, kind) is gives


def test_each_part_is_answered_by_the_sentence_about_it(embeddings) -> None:  # type: ignore[no-untyped-def]
    parts = question_parts("What did Russia send Cuba and why?")
    sentences = ["Russia sent nearly 100 tons of food, protective equipment and medical masks to Cuba.",
                 "Moscow fears losing a crucial ally in Latin America after the US sanctioned Cuba's minister."]
    covered = CoverageChecker(embeddings).cover(parts, sentences)
    assert [c.answered for c in covered] == [True, True]
    assert 1 in covered[1].sentences            # the reason answers "why"


def test_a_part_no_sentence_answers_is_left_uncovered(embeddings) -> None:  # type: ignore[no-untyped-def]
    parts = question_parts("What did Russia send Cuba and how much did the shipment cost?")
    covered = CoverageChecker(embeddings).cover(parts, ["Russia sent food and medical masks to Cuba."])
    assert [c.answered for c in covered] == [True, False]


def test_the_uncovered_line_names_the_part_and_comes_off_again() -> None:
    line = uncovered_line([QuestionPart("How much did the shipment cost?", "how much")])
    assert "How much did the shipment cost?" in line
    text = f"Russia sent food [1]. {line}"
    assert without_uncovered_line(text) == "Russia sent food [1]."
