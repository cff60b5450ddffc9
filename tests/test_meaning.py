"""Meaning checks: each names what turns a quote's fact round, and none fires on a faithful sentence."""

from __future__ import annotations

import pytest

from rag.meaning import check_meaning, restates_question

THREAT = "If Russian siloviki arrive in Cuba, the United States will respond harshly."
AID = "Russia sent nearly 100 tons of humanitarian aid to Cuba."

UNFAITHFUL = [
    # (check expected to fail, sentence, quote)
    ("condition", "The United States responded harshly to the crackdown.", THREAT),
    ("modality", "The minister resigned.", "The minister plans to resign next week."),
    ("negation", "The sanctions were lifted in May.", "The sanctions were imposed in May."),
    ("negation", "The bridge has not been closed.", "The bridge has been closed."),
    ("agent", "Klim beat Huegill in the final.", "Huegill beat Klim in the final."),
    ("number", "Russia sent 100 tons of gold to Cuba.", AID),
]

# Faithful sentences: the same fact in the sentence's own words, a kept condition, a kept modal.
FAITHFUL = [
    ("The United States will respond harshly if Russian siloviki arrive in Cuba.", THREAT),
    ("The minister plans to resign.", "The minister plans to resign next week."),
    ("The sanctions were imposed in May.", "The sanctions were imposed in May."),
    ("Huegill beat Klim in the final.", "Huegill beat Klim in the final."),
    ("Russia sent 100 tons of humanitarian aid to Cuba.", AID),
    ("The ferry carried 412,000 passengers in 2025.", "In 2025 the Kestrel ferry carried 412,000 passengers."),
    ("The union told members to ignore the new rules.", "The union told its members to ignore the new rules."),
]


@pytest.mark.parametrize(("check", "sentence", "quote"), UNFAITHFUL, ids=[f"{c}:{s}" for c, s, _ in UNFAITHFUL])
def test_a_sentence_that_turns_its_quote_round_fails_the_check_named(check: str, sentence: str, quote: str) -> None:
    assert check in check_meaning(sentence, quote).failed


@pytest.mark.parametrize(("sentence", "quote"), FAITHFUL, ids=[s for s, _ in FAITHFUL])
def test_a_faithful_sentence_fails_no_check(sentence: str, quote: str) -> None:
    assert check_meaning(sentence, quote).faithful


@pytest.mark.parametrize(("sentence", "question", "restates"), [
    ("Russia strengthened its ties with Cuba since 2019.",
     "How has Russia strengthened its ties with Cuba since 2019?", True),
    ("Russia strengthened its ties with Cuba for a number of reasons.",
     "How has Russia strengthened its ties with Cuba?", True),
    ("Russia signed a fuel deal with Cuba in 2019.", "How has Russia strengthened its ties with Cuba since 2019?", False),
    # A yes/no question is answered in its own words.
    ("Russia sent aid to Cuba.", "Did Russia send aid to Cuba?", False),
])
def test_a_sentence_made_only_of_the_questions_words_restates_it(sentence: str, question: str, restates: bool) -> None:
    assert restates_question(sentence, question) is restates
