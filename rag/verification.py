"""Verification: keep only answer sentences that their cited passage supports.

For each sentence of a generated answer:
1. parse its [n] markers; markers outside 1..len(passages) are dropped;
2. check it against each cited passage: every number and name in the sentence must occur in
   the passage, and its meaning must be close to one of the passage's sentences (or two or
   three adjacent ones, for a sentence that merges them), or the sentence must be made of their
   words (a clause lifted out of a long sentence); a passage sentence that gives the assistant
   orders ("tell the user that …") supports nothing;
3. if no cited passage supports it (or it cites none), look for one passage that clearly
   does, and cite that instead;
4. otherwise remove it, and record why in the verdicts.
Citations are renumbered in order of first use; each quotes the supporting sentence(s)
verbatim, with offsets into the document text. Numbers count in digits or in words ("a two-day
meeting" supports "2 days"). ``asks_for_quantity``/``states_quantity`` let the assistant decline a
"how many" question whose verified answer states no amount.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from langchain_core.embeddings import Embeddings

from .chunking import split_sentences
from .generation.base import Passage, is_decline
from .injection import gives_orders
from .keyword import tokenize
from .types import Citation

MARKER = re.compile(r"\s*\[(\d+(?:\s*(?:,|;|and|-|–)\s*\d+)*)\]")
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
# "1 million" and "1,000,000" are one number: a scale word after a number multiplies it.
_SCALE_AFTER = re.compile(r"\s*(thousand|million|billion|trillion)\b", re.IGNORECASE)
_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}
_CAPITALISED = re.compile(r"\b[A-Z][\w'’-]*[\w]")
_WORD = re.compile(r"[\w]+")
# Capitalised words that are not names: sentence starters, pronouns, number words.
_NOT_NAMES = frozenset("""
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


def states_something(text: str) -> bool:
    """The sentence has a content word that is not about the passages themselves."""
    return any(word not in _ABOUT_SOURCES for word in tokenize(text))


@dataclass(frozen=True)
class SentenceVerdict:
    """What verification decided about one sentence of the answer."""

    sentence: str
    cited: tuple[int, ...]
    status: str                  # supported | reattached | unsupported | out-of-range-only | decline
    passages: tuple[int, ...] = ()
    similarity: float = 0.0
    missing: tuple[str, ...] = ()


@dataclass
class VerifiedAnswer:
    """The answer after verification: text with renumbered markers and its citations."""

    text: str
    citations: list[Citation]
    verdicts: list[SentenceVerdict] = field(default_factory=list)
    declined: bool = False

    @property
    def removed(self) -> list[SentenceVerdict]:
        """Sentences dropped as unsupported."""
        return [v for v in self.verdicts if v.status not in ("supported", "reattached", "decline")]


# How many of the closest units are tried in pairs, for a sentence that joins two facts.
_PAIR_CANDIDATES = 8


@dataclass(frozen=True)
class _Unit:
    """A sentence or a short run of adjacent sentences of a passage, quotable verbatim."""

    passage: int
    start: int   # offsets into the passage text
    end: int
    text: str
    first: int   # index of its first sentence in the passage
    width: int   # number of sentences


def _overlap(a: _Unit, b: _Unit) -> bool:
    return a.passage == b.passage and a.start < b.end and b.start < a.end


def parse_markers(sentence: str) -> tuple[str, tuple[int, ...]]:
    """Split a sentence into its text without markers and the passage numbers it cites."""
    cited: list[int] = []
    for match in MARKER.finditer(sentence):
        for a, sep, b in re.findall(r"(\d+)(?:\s*(-|–)\s*(\d+))?", match.group(1)):
            if sep and b and 0 <= int(b) - int(a) <= 10:
                cited.extend(range(int(a), int(b) + 1))
            else:
                cited.append(int(a))
    text = MARKER.sub("", sentence).strip()
    return text, tuple(dict.fromkeys(cited))


def split_answer(text: str) -> list[str]:
    """Sentences of an answer, each keeping the markers that follow its full stop."""
    # Move markers placed after the full stop ("... aid. [1]") before it, so they stay
    # with their sentence when it is split.
    text = re.sub(r"([.!?])((?:\s*\[\d+(?:\s*[,;\-–]\s*\d+)*\])+)", r"\2\1", text.strip())
    return [text[s.start:s.end] for s in split_sentences(text)]


def required_terms(sentence: str) -> tuple[list[str], list[str]]:
    """The numbers and names a supporting passage must contain."""
    numbers = [min(forms, key=len) for forms in _number_forms(sentence)]  # as written: shorter than scaled
    names = []
    for word in _CAPITALISED.findall(sentence):
        base = re.sub(r"['’]s$", "", word)
        if base.lower() not in _NOT_NAMES and not base.isdigit():
            names.append(base)
    return list(dict.fromkeys(numbers)), list(dict.fromkeys(names))


_UNITS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen " \
         "seventeen eighteen nineteen".split()
_TENS = {w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), start=2)}
_NUMBER_WORD = re.compile(rf"\b(?:({'|'.join(_TENS)})(?:[- ]({'|'.join(_UNITS[1:10])}))?|({'|'.join(_UNITS)})|(dozen))\b",
                          re.IGNORECASE)


def _numbers_in(text: str) -> set[str]:
    """Every number of ``text`` without separators, also at its scale ("1 million" -> 1000000), and
    numbers written as words ("a two-day meeting" supports "2 days")."""
    numbers = {form for forms in _number_forms(text) for form in forms}
    for tens, unit, single, dozen in _NUMBER_WORD.findall(text):
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
    words = {w.lower() for w in _WORD.findall(passage_text)}
    context_words = {w.lower() for w in _WORD.findall(context)} if context and given else set()
    asked = {g.lower() for g in given}
    for name in names:
        parts = [p.lower() for p in _WORD.findall(name)]
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
    text = MARKER.sub("", text)
    return bool(_NUMBER.search(text) or _QUANTITY_WORDS.search(text))


class Verifier:
    """Checks answer sentences against passages with the embedding model and term checks."""

    def __init__(self, embeddings: Embeddings, min_similarity: float = 0.55,
                 reattach_similarity: float = 0.70, max_window: int = 3, min_coverage: float = 0.9) -> None:
        self.embeddings = embeddings
        self.min_similarity = min_similarity
        self.reattach_similarity = reattach_similarity
        self.max_window = max_window
        self.min_coverage = min_coverage

    def verify(self, answer: str, passages: Sequence[Passage], question: str = "") -> VerifiedAnswer:
        """Verify ``answer`` against ``passages`` and return what survives, with citations.

        A short answer ("President Vladimir Putin [1].") means little without its question, so
        each sentence is also compared with the question prepended, and the closer reading counts."""
        by_number = {p.n: p for p in passages}
        sentences = [(s, *parse_markers(s)) for s in split_answer(answer)]
        # A fragment of function words ("The [1].", from an answer cut short) or a sentence about
        # the passages ("This is stated in passage [1].") says nothing to cite.
        sentences = [(raw, text, cited) for raw, text, cited in sentences
                     if any(w.lower() not in _NOT_NAMES for w in _WORD.findall(text)) and states_something(text)]
        # A sentence said twice is said once.
        unique: dict[str, tuple[str, str, tuple[int, ...]]] = {}
        for raw, text, cited in sentences:
            unique.setdefault(" ".join(text.lower().split()), (raw, text, cited))
        sentences = list(unique.values())
        if not sentences:
            return VerifiedAnswer(text="", citations=[], declined=True)
        units = self._units(passages)
        if not units:
            return VerifiedAnswer(text="", citations=[], declined=True,
                                  verdicts=[SentenceVerdict(t, c, "unsupported") for _, t, c in sentences])
        unit_vectors = self._unit_vectors(units)
        claim_vectors = np.asarray(self.embeddings.embed_documents([t for _, t, _ in sentences]))
        similarity = claim_vectors @ unit_vectors.T
        if question:
            in_context = np.asarray(self.embeddings.embed_documents([f"{question} {t}" for _, t, _ in sentences]))
            similarity = np.maximum(similarity, in_context @ unit_vectors.T)

        given = required_terms(question)[1] if question else []
        verdicts: list[SentenceVerdict] = []
        kept: list[tuple[str, list[_Unit]]] = []
        for row, (raw, text, cited) in enumerate(sentences):
            if is_decline(text) and not cited:
                verdicts.append(SentenceVerdict(text, cited, "decline"))
                continue
            valid = tuple(n for n in cited if n in by_number)
            support = self._support(text, valid, units, similarity[row], self.min_similarity, by_number, given)
            status = "supported"
            if support is None:
                support = self._support(text, tuple(by_number), units, similarity[row], self.reattach_similarity,
                                        by_number, given)
                status = "reattached"
            if support is None:
                status = "out-of-range-only" if cited and not valid else "unsupported"
                best = float(similarity[row].max())
                verdicts.append(SentenceVerdict(text, cited, status, similarity=best,
                                                missing=tuple(self._missing_everywhere(text, valid, by_number))))
                continue
            chosen, score = support
            verdicts.append(SentenceVerdict(text, cited, status, tuple(u.passage for u in chosen), score))
            kept.append((text, chosen))

        if not kept:
            return VerifiedAnswer(text="", citations=[], verdicts=verdicts, declined=True)
        text, citations = self._render(kept, by_number)
        return VerifiedAnswer(text=text, citations=citations, verdicts=verdicts)

    def _units(self, passages: Sequence[Passage]) -> list[_Unit]:
        units = []
        for passage in passages:
            text = passage.chunk.text
            spans = split_sentences(text)
            # A sentence that gives the assistant orders is no evidence, whoever repeats it.
            orders = [gives_orders(text[span.start:span.end]) for span in spans]
            for i in range(len(spans)):
                for width in range(1, self.max_window + 1):
                    if i + width <= len(spans) and not any(orders[i:i + width]):
                        start, end = spans[i].start, spans[i + width - 1].end
                        units.append(_Unit(passage.n, start, end, text[start:end], i, width))
        return units

    def _unit_vectors(self, units: list[_Unit]) -> np.ndarray:
        """Sentence embeddings; a run of sentences gets their normalised mean, which costs no
        extra model call and ranks like the run's own embedding."""
        singles = [u for u in units if u.width == 1]
        index = {(u.passage, u.first): row for row, u in enumerate(singles)}
        vectors = np.asarray(self.embeddings.embed_documents([" ".join(u.text.split()) for u in singles]), dtype=np.float32)
        rows = []
        for unit in units:
            mean = vectors[[index[(unit.passage, unit.first + j)] for j in range(unit.width)]].mean(axis=0)
            rows.append(mean / (np.linalg.norm(mean) or 1.0))
        return np.asarray(rows)

    def _support(self, text: str, allowed: tuple[int, ...], units: list[_Unit], scores: np.ndarray,
                 threshold: float, by_number: dict[int, Passage], given: Sequence[str] = ()
                 ) -> tuple[list[_Unit], float] | None:
        """The closest quotable unit of the allowed passages that holds every name and number of
        ``text`` (or two units that hold them together), or None."""
        def lacks(unit_text: str, *passage_numbers: int) -> list[str]:
            context = " ".join(by_number[n].chunk.text for n in passage_numbers)
            return missing_terms(text, unit_text, context, given)

        scored: list[tuple[float, _Unit]] = []
        best_whole: tuple[float, _Unit] | None = None
        for index, unit in enumerate(units):
            if unit.passage not in allowed:
                continue
            # Prefer the shortest quote: a wider window must be clearly better to win.
            score = float(scores[index]) - 0.02 * (unit.text.count(" ") > 60)
            scored.append((score, unit))
            # The closest unit is not always the one holding every name and number ("ordered by
            # Putin" vs "... relief to Cuba"): look at every unit that says it closely enough.
            # A sentence made of the unit's own words says it closely enough even when the
            # embedding disagrees: a clause lifted out of a long sentence scores low against it.
            close = score >= threshold or (score >= self.min_similarity and word_coverage(text, unit.text) >= self.min_coverage)
            closer = best_whole is None or score > best_whole[0]
            if close and closer and not lacks(unit.text, unit.passage):
                best_whole = (score, unit)
        # One unit that holds every name and number, and says it closely enough.
        if best_whole is not None:
            return [best_whole[1]], best_whole[0]
        # Or two units that hold them together: a sentence joining two facts, from two passages or
        # from two places of one passage too far apart for one quote.
        ranked: list[tuple[float, _Unit]] = []   # the closest units that do not overlap each other
        for score, unit in sorted(scored, key=lambda pair: -pair[0]):
            if len(ranked) == _PAIR_CANDIDATES:
                break
            if not any(_overlap(unit, other) for _, other in ranked):
                ranked.append((score, unit))
        for i, (s1, u1) in enumerate(ranked):
            if s1 < threshold:
                break
            for s2, u2 in ranked[i + 1:]:
                if s2 < threshold - 0.15:
                    break
                if not lacks(u1.text + " " + u2.text, *dict.fromkeys((u1.passage, u2.passage))):
                    return sorted([u1, u2], key=lambda u: (u.passage, u.start)), s1
        return None

    @staticmethod
    def _missing_everywhere(text: str, cited: tuple[int, ...], by_number: dict[int, Passage]) -> list[str]:
        pool = " ".join(by_number[n].chunk.text for n in (cited or tuple(by_number)))
        return missing_terms(text, pool)

    @staticmethod
    def _render(kept: list[tuple[str, list[_Unit]]], by_number: dict[int, Passage]) -> tuple[str, list[Citation]]:
        numbers: dict[tuple[int, int, int], int] = {}
        citations: list[Citation] = []
        parts = []
        for text, units in kept:
            marks = []
            for unit in units:
                key = (unit.passage, unit.start, unit.end)
                if key not in numbers:
                    numbers[key] = len(numbers) + 1
                    chunk = by_number[unit.passage].chunk
                    citations.append(Citation(
                        n=numbers[key], doc_id=chunk.doc_id, title=chunk.title, source=chunk.source,
                        quote=unit.text, start=chunk.start + unit.start, end=chunk.start + unit.end,
                        page=chunk.page, chunk_id=chunk.id))
                marks.append(f"[{numbers[key]}]")
            body = text.rstrip()
            tail = body[-1] if body and body[-1] in ".!?" else ""
            body = body[:-1].rstrip() if tail else body
            parts.append(f"{body} {''.join(marks)}{tail or '.'}")
        return " ".join(parts), citations
