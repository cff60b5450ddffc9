"""Question parts: one part per thing asked, and none made up from a question of one part."""

from __future__ import annotations

import pytest

from rag.question_parts import kind_of, question_parts

SPLITS = [
    # (question, the parts' texts, their kinds)
    ("What did Russia send Cuba and why?",
     ["What did Russia send Cuba?", "Why did Russia send Cuba?"], ["what", "why"]),
    ("Who went to Havana and what did they discuss?",
     ["Who went to Havana?", "What did they discuss?"], ["who", "what"]),
    ("How much aid was sent and from where?",
     ["How much aid was sent?", "From where aid was sent?"], ["how much", "where"]),
    ("When and where did it happen?", ["When did it happen?", "Where did it happen?"], ["when", "where"]),
    ("What were the cargo and the aircraft?", ["What were the cargo?", "What were the aircraft?"], ["what", "what"]),
    ("Who won? By how much?", ["Who won?", "By how much?"], ["who", "how much"]),
    ("Who won the race, and who came second?", ["Who won the race?", "Who came second?"], ["who", "who"]),
    ("What did Russia send, why, and who ordered it?",
     ["What did Russia send?", "Why did Russia send?", "Who ordered it?"], ["what", "why", "who"]),
    ("Where is the bridge, how long is it?", ["Where is the bridge?", "How long is it?"], ["where", "how much"]),
]

# Questions of one part that read like several: "and" inside a name list, a relative clause, one
# thing with two attributes.
WHOLE = [
    "Who ordered the delivery?",
    "Why did Russia and Cuba sign the deal?",
    "What did Tom and Jerry eat?",
    "What is the name and age of the suspect?",
    "What happened to the ferry, which was built in 1990?",
    "Who won the race, who is 40?",
    "Did the bank raise rates and cut jobs?",
]


@pytest.mark.parametrize(("question", "texts", "kinds"), SPLITS, ids=[s[0] for s in SPLITS])
def test_a_question_of_several_parts_is_split_into_questions_of_their_own(question: str, texts: list[str],
                                                                        kinds: list[str]) -> None:
    parts = question_parts(question)
    assert [p.text for p in parts] == texts
    assert [p.kind for p in parts] == kinds


@pytest.mark.parametrize("question", WHOLE)
def test_a_question_of_one_part_stays_whole(question: str) -> None:
    assert [p.text for p in question_parts(question)] == [question]


@pytest.mark.parametrize(("text", "kind"), [
    ("How many masks were sent?", "how much"), ("What was the total cost?", "how much"),
    ("In which year did it open?", "when"), ("When did Putin visit?", "when"),
    ("Which country sent the aid?", "where"), ("Whose plane was it?", "who"),
    ("What were the reasons for the sanctions?", "why"), ("How did Russia react?", "how"),
    ("Did the ferry sink?", "yes/no"), ("What did they discuss?", "what"),
    ("What were the planes called?", "what"),
])
def test_each_part_knows_what_kind_of_answer_it_asks_for(text: str, kind: str) -> None:
    assert kind_of(text) == kind
