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
_NUMBER_WORD = re.compile(rf"\b(?:({'|'.join(_TENS)})(?:[- ]({'|'.join(_UNITS[1:10])}))?|({'|'.join(_UNITS)})|(dozen))\b",
                          re.IGNORECASE)


def _numbers_in(text: str) -> set[str]:
    """Every number of ``text`` without separators, also at its scale ("1 million" -> 1000000), and
    numbers written as words ("a two-day meeting" supports "2 days", "two hundred and thirty" is 230)."""
    numbers = {form for forms in _number_forms(text) for form in forms}
    for tens, unit, single, dozen in _NUMBER_WORD.findall(text):
        if tens:
            numbers.add(str(_TENS[tens.lower()] + (_UNITS.index(unit.lower()) if unit else 0)))
        else:
            numbers.add(str(_UNITS.index(single.lower())) if single else "12")
    numbers.update(str(value) for value, _, _ in spelled_numbers(text))
    return numbers


_SPELLED_WORD = re.compile(rf"\b(?:{'|'.join(_UNITS)}|{'|'.join(_TENS)}|hundred|thousand|million|billion|dozen)\b",
                           re.IGNORECASE)
_SPELLED_JOIN = re.compile(r"^(?:\s+and\s+|\s*-\s*|\s+)$", re.IGNORECASE)


def spelled_numbers(text: str) -> list[tuple[int, int, int]]:
    """Numbers written in words, with their spans: "two hundred and thirty" (230), "thirty-five",
    "a dozen" (12), "one million" (1000000)."""
    found: list[tuple[int, int, int]] = []
    run: list[re.Match[str]] = []

    def close() -> None:
        if run:
            found.append((_words_value([m.group().lower() for m in run]), run[0].start(), run[-1].end()))
            run.clear()

    for match in _SPELLED_WORD.finditer(text):
        if run and not _SPELLED_JOIN.match(text[run[-1].end():match.start()]):
            close()
        run.append(match)
    close()
    return [f for f in found if f[0] > 0]


def _words_value(words: Sequence[str]) -> int:
    total, current = 0, 0
    for word in words:
        if word in _UNITS:
            current += _UNITS.index(word)
        elif word in _TENS:
            current += _TENS[word]
        elif word == "dozen":
            current = (current or 1) * 12
        elif word == "hundred":
            current = (current or 1) * 100
        else:   # thousand, million, billion
            total += (current or 1) * _SCALES[word]
            current = 0
    return total + current


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


# ---------------------------------------------------------------- what kind of answer a sentence gives

_MONTHS = ("january february march april may june july august september october november december "
           "jan feb mar apr jun jul aug sep sept oct nov dec").split()
_DAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
_TIME = re.compile(
    rf"\b(?:1[5-9]\d\d|20\d\d)s?\b|\b(?:{'|'.join(_MONTHS)})\b\.?|\b(?:{'|'.join(_DAYS)})\b|"
    r"\b(?:yesterday|today|tomorrow|tonight|overnight|ago|earlier|later|soon|recently|now|currently|once|"
    r"dawn|dusk|midnight|noon|morning|afternoon|evening|weekend|week|month|year|decade|century|season|"
    r"spring|summer|autumn|fall|winter|christmas|easter|new year)\b|"
    r"\b\d{1,2}(?:[.:]\d\d)?\s*(?:am|pm|a\.m\.|p\.m\.|hours?|days?|weeks?|months?|years?)\b|"
    r"\b(?:since|until|till|by|before|after|during|between)\s+(?:the\s+)?\d", re.IGNORECASE)
# Words that give a reason or a purpose: "because", "after the US imposed", "to defend the regime",
# "fearful that", "over the crackdown".
_CAUSE = re.compile(
    r"\b(?:because|since|as a result|due to|owing to|thanks to|after|following|over|amid|in response|in retaliation|"
    r"so that|in order to|for fear|fear(?:s|ed|ful)?|worr(?:y|ied|ies)|concern(?:s|ed)?|reasons?|caus(?:e|ed|es|ing)|"
    r"led to|lead to|leads to|blam(?:e|ed|es)|prompt(?:ed|s)?|trigger(?:ed|s)?|spark(?:ed|s)?|result(?:ed|s)?|"
    r"motivat\w*|aim(?:s|ed)? to|sought to|seek(?:s|ing)? to|want(?:s|ed)? to|would lose|could lose|risk\w*|"
    r"threat\w*|so as to|which is why|that is why|thus|therefore|hence|given that|amid|in the wake of|"
    r"to (?:help|support|protect|defend|avoid|prevent|stop|ensure|keep|show|counter|boost|reduce|fight|deal|"
    r"meet|ease|secure|strengthen|weaken|push|maintain|save|win|gain|make|allow|improve|curb|limit))\b",
    re.IGNORECASE)
_ROLE = re.compile(
    r"\b(?:minister|president|premier|prime minister|chancellor|king|queen|prince|police|officers?|officials?|"
    r"spokes(?:man|woman|person)|chief|director|leader|chair(?:man|woman)?|mayor|governor|commissioner|judge|court|"
    r"government|ministry|department|council|army|navy|military|company|firm|team|club|union|group|party|"
    r"authorit(?:y|ies)|agency|board|committee|senator|mp|ambassador|secretary|general|captain|coach|doctor|"
    r"scientists?|researchers?|students?|residents?|workers?|farmers?|players?|rider|driver|pilot|crew|man|woman|"
    r"men|women|boy|girl|children|people|family|families|staff|experts?|analysts?|lawyers?)\b", re.IGNORECASE)
_PLACE = re.compile(r"\b(?:in|at|near|from|to|outside|inside|across|north|south|east|west|off|on)\s+(?:the\s+)?"
                    r"(?:[A-Z][\w'-]+|(?:\w+\s+){0,2}(?:airport|city|town|village|region|province|state|country|"
                    r"coast|island|border|port|harbour|base|capital|hospital|school|centre|center|street|road|river))")


def states_time(text: str) -> bool:
    """The text gives a time: a year, month, weekday, clock time, duration or relative time."""
    return bool(_TIME.search(strip_markers(text)))


def states_cause(text: str) -> bool:
    """The text gives a reason or a purpose ("because", "after …", "to defend …", "fearful that …")."""
    return bool(_CAUSE.search(strip_markers(text)))


def names_someone(text: str) -> bool:
    """The text names a person or body: a capitalised name after its first word, or a role ("the minister")."""
    words = WORD.findall(strip_markers(text))
    named = any(w[:1].isupper() and w.lower() not in NOT_NAMES for w in words[1:])
    return named or bool(_ROLE.search(text))


def states_place(text: str) -> bool:
    """The text gives a place: a preposition before a name or a place noun ("near Moscow", "at the airport")."""
    return bool(_PLACE.search(strip_markers(text)))
