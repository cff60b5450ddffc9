"""The trace check flags what the verifier must never show, and passes a quote's own words."""

from __future__ import annotations

import sys

import pytest

from rag.config import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "evals"))
from check_traces import problems  # noqa: E402

THREAT = "If Russian siloviki arrive in Cuba, the United States will respond harshly."


@pytest.mark.parametrize(("sentence", "quote", "found"), [
    ("The United States responded harshly.", THREAT, ["condition"]),
    ("The bridge was closed in May.", "The bridge was not closed in May.", ["negation"]),
    ("Klim beat Huegill in the final.", "Huegill beat Klim in the final.", ["agent"]),
    ("The United States will respond harshly if Russian siloviki arrive.", THREAT, []),
    ("Huegill was beaten by Klim.", "Klim beat Huegill.", []),
    ("The administrators have not been able to save the stores.",
     "The administrators have a buyer but have not been able to save the company stores.", []),
    (THREAT, THREAT, []),
])
def test_a_plain_reading_flags_conditions_negations_and_swapped_agents(sentence: str, quote: str,
                                                                      found: list[str]) -> None:
    assert problems(sentence, quote) == found
