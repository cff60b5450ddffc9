"""Question parts: what a question asks, one part per thing to answer.

"What did Russia send Cuba and why?" asks two things; an answer that gives the amount and four
reasons but not the cargo, or the cargo but no reason, is not what was asked. The pipeline carries
the parts through: each part gets its own evidence (sentences ranked against it), each is checked
after verification, and a part the passages do not answer is named instead of guessed or of
declining the whole question.

Parts are found by rules, not by the LLM: a 1.5B model's split costs 2-4 s on two cores and was no
better on the dev split (``benchmarks/question_parts.py``). The rules read the joints of English
questions: separate questions ("Who won? By how much?"), a wh-word after "and"/","/";" ("who went
and what did they discuss"), a bare wh-word tail ("… and why?", "… and from where?"), joined
wh-words ("When and where did it happen?"), and a list after a copula ("What were the cargo and
the aircraft?"). A tail borrows the rest of the clause before it: "and why?" after "What did Russia
send Cuba" is "Why did Russia send Cuba?".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The kinds of answer a part asks for; answer checks (``rag.coverage``) read them.
KINDS = ("what", "why", "who", "when", "where", "how much", "how", "yes/no")

_WH = r"(?:why|who|whom|whose|what|when|where|which|how)"
_AUX = (r"(?:is|are|was|were|do|does|did|has|have|had|will|would|can|could|should|may|might|must|shall|'s|'re)")
# "and why", ", and where", "; who", ", what": a new part starts at a wh-word after a joint.
_PREPOSITION = r"(?:from|to|in|at|by|for|with|on|of|about|under|over|into|after|before|since|until|till|during|within)"
# After a bare comma a new part starts at "what", "why" or "how"; at "which"/"whose" before a noun
# ("which sectors does it cover"); or at any wh-word when a list of parts follows (", who was in the
# delegation, and what was signed"). Otherwise ", which was built in 1990" and ", who is 40" are
# relative clauses of the noun before them, not questions of their own.
_BARE_COMMA = (rf",\s*(?=(?:{_PREPOSITION}\s+)?(?:what|why|how)\b"
               rf"|(?:which|whose)\s+(?!{_AUX}\b|did\b|\w+ed\b)[a-z]"
               rf"|(?:{_PREPOSITION}\s+)?{_WH}\b[^?]*,\s*(?:and|or)\s+(?:{_PREPOSITION}\s+)?{_WH}\b)")
_JOINT = re.compile(rf"\s*(?:(?:,\s*(?:and|but|or)\s+|\s+(?:and|but|or|as well as)\s+|;\s*)(?=(?:{_PREPOSITION}\s+)?{_WH}\b)"
                    rf"|{_BARE_COMMA})", re.IGNORECASE)
# The wh-word that opens a question, with its preposition and "much"/"many": what a tail replaces.
_WH_WORD = re.compile(rf"^(?:{_PREPOSITION}\s+)?(?:how(?:\s+(?:much|many|long|far|old|often|big|large))?"
                      rf"|what|which|whose|who|whom|why|when|where)\b\s*", re.IGNORECASE)
_BARE_TAIL = re.compile(rf"^(?:(?:and|or|but)\s+)?((?:{_PREPOSITION}\s+)?{_WH}(?:\s+(?:much|many|long|far|old|often))?"
                        rf"(?:\s+(?:from|to|for|with|exactly|so|not))?)\s*[?.!]*$", re.IGNORECASE)
# "When and where did it happen?": two wh-words sharing one body.
_JOINED_WH = re.compile(rf"^({_WH})\s+and\s+({_WH})\s+(.+)$", re.IGNORECASE)
# "What were the cargo and the aircraft?": a list of noun phrases, each with its own determiner, after
# a copula ("the name and age of the suspect" is one thing asked, and stays whole).
_DETERMINER = r"(?:the|a|an|its|their|his|her|this|that|these|those|[\w-]+'s)"
_COPULA_LIST = re.compile(rf"^(what|who|which)\s+(is|are|was|were)\s+({_DETERMINER}\s.+?)\s+and\s+({_DETERMINER}\s.+)$",
                          re.IGNORECASE)
_VERBISH = re.compile(rf"\b(?:{_AUX}|did|said|says|made|went|sent|took|gave|got)\b|\b\w+(?:ed|ing)\b", re.IGNORECASE)
_QUESTION_END = re.compile(r"(?<=[?])\s+(?=\S)")


@dataclass(frozen=True)
class QuestionPart:
    """One thing a question asks, worded as a question of its own."""

    text: str        # "Why did Russia send Cuba?": what evidence is ranked against, and what is shown
    kind: str        # one of KINDS


def question_parts(question: str) -> list[QuestionPart]:
    """The parts of ``question`` in the order asked; a one-part question gives one part."""
    parts: list[QuestionPart] = []
    for sentence in _QUESTION_END.split(" ".join(question.split())):
        clauses = _clauses(sentence)
        full = [c for c in clauses if not _BARE_TAIL.match(c)]
        previous = ""
        for clause in clauses:
            # A tail borrows the clause before it ("… and why?"), or after it ("When and where did …").
            donor = previous or next((c for c in full if c != clause), "")
            for text in _expand(clause, donor):
                parts.append(QuestionPart(_as_question(text), kind_of(text)))
            if not _BARE_TAIL.match(clause):
                previous = clause
    unique = list({p.text.lower(): p for p in parts}.values())
    return unique or [QuestionPart(question.strip(), kind_of(question))]


def kind_of(text: str) -> str:
    """What kind of answer the words ask for ("how much", "when", "why", ...)."""
    t = text.lower().strip()
    t = re.sub(r"^(?:and|or|but|so|also|then)\s+", "", t)
    t = re.sub(rf"^{_PREPOSITION}\s+(?=(?:what|which|where|whom|how)\b)", "", t)
    if re.match(r"how\s+(?:much|many|long|far|old|often|big|large)\b|what\s+(?:(?:is|was|are|were)\s+the\s+)?"
                r"(?:(?:total|overall|final|estimated)\s+)?(?:percentage|proportion|share|fraction|number|amount|sum|"
                r"price|cost|total|value|size|figure)\b", t):
        return "how much"
    if re.match(r"when\b|what\s+(?:year|date|day|month|time|hour|week|season)\b|(?:in\s+)?which\s+(?:year|month|day)\b", t):
        return "when"
    if re.match(r"where\b|(?:what|which)\s+(?:country|city|town|place|region|state|airport|port|venue|location)\b", t):
        return "where"
    # "which Cuban president", "what two players": a person or body, up to two words before its noun.
    if re.match(r"(?:who|whom|whose)\b|(?:what|which)\s+(?:[\w-]+\s+){0,2}?(?:person|people|man|woman|official|"
                r"minister|president|leader|king|queen|premier|chancellor|mayor|governor|senator|judge|team|company|"
                r"firm|group|organi[sz]ation|party|players?|riders?|athletes?|yacht|club|union|officials?|monarchs?)s?\b",
                t):
        return "who"
    if re.match(r"why\b|what\s+(?:was|were|is|are)\s+the\s+(?:reasons?|causes?|motives?)\b|for what reason\b", t):
        return "why"
    if re.match(r"how\b", t):
        return "how"
    if re.match(rf"{_AUX}\b|did\b", t):
        return "yes/no"
    return "what"


def _clauses(sentence: str) -> list[str]:
    """The sentence cut at each joint that starts a new wh-part."""
    pieces = [p.strip(" ,;") for p in _JOINT.split(sentence.strip())]
    return [p for p in pieces if p and any(ch.isalnum() for ch in p)]


def _expand(clause: str, previous: str) -> list[str]:
    """A clause as one or more full questions: a bare tail borrows the previous clause's body,
    joined wh-words and copula lists become one question each."""
    clause = re.sub(r"^(?:and|or|but)\s+", "", clause.strip(), flags=re.IGNORECASE).rstrip(" ?.!")
    tail = _BARE_TAIL.match(clause)
    if tail and previous:
        return [f"{tail.group(1)} {_body(previous)}"]
    if tail:
        return [clause]
    joined = _JOINED_WH.match(clause)
    if joined:
        return [f"{joined.group(1)} {joined.group(3)}", f"{joined.group(2)} {joined.group(3)}"]
    listed = _COPULA_LIST.match(clause)
    if listed and not _VERBISH.search(listed.group(3)) and not _VERBISH.search(listed.group(4)):
        wh, be = listed.group(1), listed.group(2)
        return [f"{wh} {be} {listed.group(3)}", f"{wh} {be} {listed.group(4)}"]
    return [clause]


def _body(clause: str) -> str:
    """The clause without its opening wh-word: "What did Russia send Cuba" -> "did Russia send Cuba",
    "How much aid was sent" -> "aid was sent" (ungrammatical after a new wh-word at times, but it
    carries the words that the part's evidence is ranked by)."""
    return _WH_WORD.sub("", clause.rstrip(" ?.!"), count=1).strip()


def _as_question(text: str) -> str:
    text = text.strip().rstrip(" ?.!")
    return text[:1].upper() + text[1:] + "?"
