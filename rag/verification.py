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
meeting" supports "2 days"); what numbers and names a sentence holds is read by ``rag.text_facts``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from langchain_core.embeddings import Embeddings

from .chunking import split_sentences
from .citations import is_decline, parse_markers, split_answer
from .generation.base import Passage
from .injection import order_sentences
from .meaning import MeaningChecker, restates_question
from .text_facts import missing_terms, required_terms, says_something, states_something, word_coverage
from .types import Citation


@dataclass(frozen=True)
class SentenceVerdict:
    """What verification decided about one sentence of the answer."""

    sentence: str
    cited: tuple[int, ...]
    status: str                  # supported | reattached | unsupported | unfaithful | out-of-range-only | decline
    passages: tuple[int, ...] = ()
    similarity: float = 0.0
    missing: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()     # the meaning checks that a close quote failed (rag.meaning)


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


class Verifier:
    """Checks answer sentences against passages with the embedding model and term checks."""

    def __init__(self, embeddings: Embeddings, min_similarity: float = 0.55,
                 reattach_similarity: float = 0.70, max_window: int = 3, min_coverage: float = 0.9,
                 meaning: MeaningChecker | None = None) -> None:
        self.embeddings = embeddings
        self.meaning = meaning or MeaningChecker(embeddings)
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
                     if says_something(text) and states_something(text)]
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
            if restates_question(text, question):
                # "Russia strengthened its ties with Cuba since 2019." to "How has Russia strengthened its
                # ties with Cuba since 2019?" is close to any passage about those ties, and says nothing.
                verdicts.append(SentenceVerdict(text, cited, "unfaithful", failed=("restatement",)))
                continue
            valid = tuple(n for n in cited if n in by_number)
            failed: set[str] = set()
            support = self._support(text, valid, units, similarity[row], self.min_similarity, by_number, given, failed,
                                    question)
            status = "supported"
            if support is None:
                support = self._support(text, tuple(by_number), units, similarity[row], self.reattach_similarity,
                                        by_number, given, failed, question)
                status = "reattached"
            if support is None:
                status = "out-of-range-only" if cited and not valid else "unfaithful" if failed else "unsupported"
                best = float(similarity[row].max())
                verdicts.append(SentenceVerdict(text, cited, status, similarity=best,
                                                missing=tuple(self._missing_everywhere(text, valid, by_number)),
                                                failed=tuple(sorted(failed))))
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
            orders = order_sentences(text, spans)
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
                 threshold: float, by_number: dict[int, Passage], given: Sequence[str] = (),
                 failed: set[str] | None = None, question: str = "") -> tuple[list[_Unit], float] | None:
        """The closest quotable unit of the allowed passages that holds every name and number of
        ``text`` and says what it says (or two units that do so together), or None. The meaning
        checks that rejected a close unit are added to ``failed``."""
        failed = set() if failed is None else failed

        def lacks(unit_text: str, *passage_numbers: int) -> list[str]:
            context = " ".join(by_number[n].chunk.text for n in passage_numbers)
            missing = missing_terms(text, unit_text, context, given)
            if missing:
                return missing
            verdict = self.meaning.check(text, unit_text, question)
            failed.update(verdict.failed)
            return list(verdict.failed)

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
