"""What text says, read by rules: numbers (in digits or words, at their scale), names, amounts,
and whether a sentence says anything about the world at all.

Verification asks whether a passage holds a sentence's numbers and names; the answer checks ask
whether a sentence gives an amount. The word lists here stand for knowledge (number words, words
that are not names, words about the sources) and are tested with cases they must not match.
"""

from __future__ import annotations

import re
from typing import Sequence

from .citations import strip_markers
from .keyword import tokenize

_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
# "1 million" and "1,000,000" are one number: a scale word after a number multiplies it.
_SCALE_AFTER = re.compile(r"\s*(thousand|million|billion|trillion)\b", re.IGNORECASE)
_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}
_CAPITALISED = re.compile(r"\b[A-Z][\w'’-]*[\w]")
WORD = re.compile(r"[\w]+")
# Capitalised words that are not names: sentence starters, pronouns, number words.
NOT_NAMES = frozenset("""
a an the this that these those it its they them their there here he she his her we our you your i
in on at of for from by with as to into after before during while when where why how what which who
whom whose and but or so yet also however although though because since if then thus therefore
moreover furthermore additionally finally first second third according based overall yes no not
one two three four five six seven eight nine ten eleven twelve hundred hundreds thousand
thousands million millions some many several both each all most more less about nearly around
approximately over under more than passage passages document documents source sources article
""".split())


# Words about the passages rather than about the world. "This information is supported by passage
# [1]." states nothing, yet read after the question (as every short sentence is, below) it comes
# close enough to a passage sentence to pass: a small model writes it in place of an answer.
_ABOUT_SOURCES = frozenset(tokenize(
    "information informed detail details support supported supports passage passages text texts document documents "
    "source sources context state states stated mention mentions mentioned provide provides provided according "
    "answer answers question questions say says said given found shown"))


def says_something(text: str) -> bool:
    """The text has a word that is not a function word, pronoun or number word ("The [1]." has none)."""
    return any(w.lower() not in NOT_NAMES for w in WORD.findall(text))


def states_something(text: str) -> bool:
    """The sentence has a content word that is not about the passages themselves."""
    return any(word not in _ABOUT_SOURCES for word in tokenize(text))


def required_terms(sentence: str) -> tuple[list[str], list[str]]:
    """The numbers and names a supporting passage must contain."""
    numbers = [min(forms, key=len) for forms in _number_forms(sentence)]  # as written: shorter than scaled
    names = []
    for word in _CAPITALISED.findall(sentence):
        base = re.sub(r"['’]s$", "", word)
        if base.lower() not in NOT_NAMES and not base.isdigit():
            names.append(base)
    return list(dict.fromkeys(numbers)), list(dict.fromkeys(names))


_UNITS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen " \
         "seventeen eighteen nineteen".split()
_TENS = {w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), start=2)}
_NUMBERWORD = re.compile(rf"\b(?:({'|'.join(_TENS)})(?:[- ]({'|'.join(_UNITS[1:10])}))?|({'|'.join(_UNITS)})|(dozen))\b",
                          re.IGNORECASE)


def _numbers_in(text: str) -> set[str]:
    """Every number of ``text`` without separators, also at its scale ("1 million" -> 1000000), and
    numbers written as words ("a two-day meeting" supports "2 days")."""
    numbers = {form for forms in _number_forms(text) for form in forms}
    for tens, unit, single, dozen in _NUMBERWORD.findall(text):
        if tens:
            numbers.add(str(_TENS[tens.lower()] + (_UNITS.index(unit.lower()) if unit else 0)))
        else:
            numbers.add(str(_UNITS.index(single.lower())) if single else "12")
    return numbers


def _number_forms(text: str) -> list[set[str]]:
    """Each number of ``text`` with the forms it may take: as written, and scaled by a word after it."""
    forms: list[set[str]] = []
    for match in _NUMBER.finditer(text):
        written = _plain_number(match.group())
        scale = _SCALE_AFTER.match(text, match.end())
        scaled = {_scaled(written, scale.group(1))} if scale else set()
        forms.append({written} | scaled - {""})
    return forms


def _plain_number(written: str) -> str:
    """A number without separators or zero decimals: "1,000" -> "1000", "4.00" -> "4", "4.50" -> "4.5"."""
    number = written.replace(",", "").rstrip(".")
    if "." in number:
        number = number.rstrip("0").rstrip(".")
    return number


def _scaled(written: str, scale: str) -> str:
    value = float(written) * _SCALES[scale.lower()]  # _NUMBER only matches parseable numbers
    return str(int(value)) if value.is_integer() else ""


def missing_terms(sentence: str, passage_text: str, context: str = "", given: Sequence[str] = ()) -> list[str]:
    """Numbers and names of the sentence that the passage lacks.

    A name the question ``given`` is excused when the ``context`` (the rest of the quote's passage)
    holds it: "He underwent an emergency appendectomy" supports "Suharto underwent…" when the
    sentence before names Suharto and the question asked about him. A name from nowhere is not."""
    _, names = required_terms(sentence)
    passage_numbers = _numbers_in(passage_text)
    missing = list(dict.fromkeys(min(forms, key=len) for forms in _number_forms(sentence) if not forms & passage_numbers))
    words = {w.lower() for w in WORD.findall(passage_text)}
    context_words = {w.lower() for w in WORD.findall(context)} if context and given else set()
    asked = {g.lower() for g in given}
    for name in names:
        parts = [p.lower() for p in WORD.findall(name)]
        if all(_word_present(p, words) for p in parts):
            continue
        if name.lower() in asked and all(_word_present(p, context_words) for p in parts):
            continue
        missing.append(name)
    return missing


def word_coverage(sentence: str, passage_text: str) -> float:
    """The share of the sentence's content words (stemmed, stopwords left out) found in the passage."""
    words = tokenize(sentence)
    if not words:
        return 0.0
    present = set(tokenize(passage_text))
    return sum(w in present for w in words) / len(words)


def _word_present(word: str, words: set[str]) -> bool:
    if word in words:
        return True
    # "Russian" is supported by "Russia", "Cuba's" by "Cuba": allow a short inflection.
    return any((w.startswith(word) and len(w) - len(word) <= 3 and len(word) >= 4) or
               (word.startswith(w) and len(word) - len(w) <= 3 and len(w) >= 4) for w in words)


_ASKS_QUANTITY = re.compile(r"\bhow\s+(?:many|much)\b|\bwhat\s+(?:percentage|proportion|share|fraction)\b", re.IGNORECASE)
_QUANTITY_WORDS = re.compile(
    rf"\b(?:{'|'.join(_UNITS[1:])}|{'|'.join(_TENS)}|hundreds?|thousands?|millions?|billions?|trillions?|dozens?|"
    r"half|halves|thirds?|quarters?|once|twice|double|triple|several|few|none|no\s+one|nobody|nothing|per\s*cent|"
    r"percent)\b", re.IGNORECASE)


def asks_for_quantity(question: str) -> bool:
    """The question asks how many or how much ("How many…", "What share of…")."""
    return bool(_ASKS_QUANTITY.search(question))


def states_quantity(text: str) -> bool:
    """The text gives an amount: a number, in digits or in words ("hundreds", "a third", "twice");
    citation markers are not numbers."""
    text = strip_markers(text)
    return bool(_NUMBER.search(text) or _QUANTITY_WORDS.search(text))

