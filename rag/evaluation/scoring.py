"""Scorers: pure functions from one case and one answer to counts, and from counts to scores.

Every metric is a ratio of sums over cases: a case contributes a numerator and a denominator
(for example citation precision: correct citations / citations), the score is
sum(numerators) / sum(denominators), and its 95 % interval is a seeded bootstrap over cases.
docs/METRICS.md defines each metric in words; this module is the definition in code.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Protocol, Sequence

import numpy as np

from ..citations import cited_sentences, strip_markers
from .suites import Case, Evidence, Part, compile_pattern

RETRIEVAL_K = (1, 5, 10)
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 0

# An answer is read, not searched: past this many words (markers left out) it is a paste of the
# passages, not an answer, and its facts do not count. Real answers in the 2026-12-03 full run were
# at most 72 (default), 93 (extractive) and 138 (baseline) words; five passages are 300-500.
MAX_ANSWER_WORDS = 150
MAX_ANSWER_WORDS_PER_EXTRA_PART = 75

# A sentence saying the documents do not cover something ("The documents don't say how much it
# cost.", "The cost is not mentioned in the passages."). Written for the scorer, independently of
# the phrases the assistant uses, so that any system's way of saying it counts.
NOT_COVERED = re.compile(
    r"\b(?:documents?|passages?|sources?|articles?|texts?|context|corpus|reports?|information)\b[^.]{0,80}?"
    r"\b(?:do(?:es)?\s*n[o']t|did\s*n[o']t|never|cannot|can't|fails? to)\b[^.]{0,40}?"
    r"\b(?:say|state|mention|give|cover|include|contain|provide|specify|report|answer|address|reveal|disclose|"
    r"tell|explain|name|list|detail|compare|identify|include)"
    r"|\bnot\s+(?:\w+\s+)?(?:mentioned|stated|specified|given|covered|reported|provided|disclosed|known|said)\b"
    r"|\bno\b[^.]{0,50}?\b(?:is|are|was|were|has been|have been|gets?)\s+(?:\w+\s+)?(?:mentioned|reported|given|"
    r"stated|provided|specified|disclosed|named|listed|recorded)\b"
    r"|\bno\s+(?:information|mention|details?|data|figures?|indication)\b|\b(?:unknown|unclear)\b",
    re.IGNORECASE)


class CitedPassage(Protocol):
    """What a citation must provide to be scored (``rag.types.Citation`` does)."""

    doc_id: str
    quote: str
    start: int
    end: int


@dataclass(frozen=True)
class Metric:
    """A row of the report: key, label, and whether it needs generated answers."""

    key: str
    label: str
    generation: bool
    higher_is_better: bool = True


METRICS: tuple[Metric, ...] = (
    *(Metric(f"hit@{k}", f"retrieval hit@{k}", False) for k in RETRIEVAL_K),
    Metric("mrr", "retrieval MRR", False),
    Metric("ndcg@10", "retrieval nDCG@10", False),
    Metric("fact_accuracy", "key-fact accuracy", True),
    Metric("completeness", "completeness (multi-part)", True),
    Metric("citation_precision", "citation precision (per cited sentence)", True),
    Metric("citation_evidence", "citations holding evidence (any sentence)", True),
    Metric("citation_recall", "citation recall", True),
    Metric("quote_validity", "quote validity", True),
    Metric("decline_precision", "decline precision", True),
    Metric("decline_recall", "decline recall", True),
    Metric("decline_balanced", "decline accuracy (balanced)", True),
    Metric("decline_accuracy", "decline accuracy", True),
    Metric("injection_resistance", "injection resistance", True),
    Metric("latency_p50", "latency p50 (ms)", True, higher_is_better=False),
    Metric("latency_p95", "latency p95 (ms)", True, higher_is_better=False),
)
METRIC_BY_KEY = {m.key: m for m in METRICS}
LATENCY_METRICS = ("latency_p50", "latency_p95")
MEAN_METRICS = ("mrr", "ndcg@10")   # per-case fractions, shown as means, not counts
# The mean of two rates, each a ratio of sums over its own cases: answerable cases answered and
# unanswerable ones declined. Never declining, or always declining, scores 0.5 however the suite
# is balanced (plain decline accuracy rewards never declining with the answerable share).
BALANCED = {"decline_balanced": ("answer_rate", "decline_recall")}

Counts = dict[str, tuple[float, float]]   # metric key -> (numerator, denominator) for one case


# ---------------------------------------------------------------- text checks

def collapse_space(text: str) -> str:
    """Runs of whitespace as one space: passages are compared without layout."""
    return " ".join(text.split())


def fact_verdicts(answer: str, facts: Sequence[Sequence[str]]) -> list[bool]:
    """For each fact group: does the answer (markers removed) match one of its alternatives?"""
    text = strip_markers(answer)
    return [group_matches(group, text) for group in facts]


def group_matches(group: Sequence[str], text: str) -> bool:
    """One of the group's alternatives occurs in ``text``."""
    return any(compile_pattern(p).search(text) for p in group)


def max_answer_words(case: Case) -> int:
    """How long an answer to this case may be and still count as an answer, not a paste."""
    return MAX_ANSWER_WORDS + MAX_ANSWER_WORDS_PER_EXTRA_PART * max(len(case.parts) - 1, 0)


def answer_words(answer: str) -> int:
    """Words of the answer without its citation markers."""
    return len(strip_markers(answer).split())


def names_uncovered(answer: str, part: Part) -> bool:
    """The answer has a sentence saying the documents do not cover this part, in the part's words."""
    return any(NOT_COVERED.search(sentence) and group_matches(part.names, sentence)
               for sentence, _ in cited_sentences(strip_markers(answer)))


def part_verdicts(answer: str, parts: Sequence[Part]) -> list[bool]:
    """For each part: answered (every fact group matched), or, for a part the corpus does not answer,
    named as not covered."""
    return [all(fact_verdicts(answer, part.facts)) if part.answerable else names_uncovered(answer, part)
            for part in parts]


def forbidden_found(answer: str, forbidden: Sequence[str]) -> list[str]:
    """The forbidden patterns that occur in the answer."""
    return [p for p in forbidden if compile_pattern(p).search(answer)]


def supports(citation: CitedPassage, evidence: Evidence) -> bool:
    """True when the citation's quote contains the evidence text, in the evidence's document.

    The quote is what the user is shown as the source (a sentence or a few for the verified
    pipeline, a whole chunk for the baseline); whitespace is collapsed on both sides.
    """
    return citation.doc_id == evidence.doc_id and collapse_space(evidence.text) in collapse_space(citation.quote)


def citation_verdicts(citations: Sequence[CitedPassage], evidence: Sequence[Evidence]) -> list[bool]:
    """For each citation: does it contain some evidence text of the case (whichever sentence cites it)?"""
    return [any(supports(c, e) for e in evidence) for c in citations]


def cited_pairs(answer: str, citations: Sequence[CitedPassage]) -> list[tuple[str, CitedPassage | None]]:
    """(sentence, citation) for every citation marker of every sentence; a marker with no citation
    pairs with None. An answer with citations but no markers at all (the tutorial's sources listed
    under the answer) has every sentence cite every citation: that is what its reader is shown."""
    by_number = {getattr(c, "n", i): c for i, c in enumerate(citations, start=1)}
    sentences = cited_sentences(answer)
    if citations and not any(numbers for _, numbers in sentences):
        return [(text, c) for text, _ in sentences for c in citations]
    return [(text, by_number.get(n)) for text, numbers in sentences for n in numbers]


def sentence_citation_verdicts(case: Case, answer: str, citations: Sequence[CitedPassage]) -> list[bool]:
    """For each (sentence, citation) pair: the citation's quote holds an evidence text of a fact that
    the citing sentence itself states (a fact group matched by both the sentence and the evidence)."""
    verdicts = []
    for sentence, citation in cited_pairs(answer, citations):
        verdicts.append(citation is not None and any(
            group_matches(group, sentence) and group_matches(group, e.text) and supports(citation, e)
            for group in case.facts for e in case.evidence))
    return verdicts


def evidence_verdicts(citations: Sequence[CitedPassage], evidence: Sequence[Evidence]) -> list[bool]:
    """For each evidence entry: is it contained in some citation?"""
    return [any(supports(c, e) for c in citations) for e in evidence]


def quote_problem(citation: CitedPassage, document_text: str | None, retrieved_doc_ids: Iterable[str]) -> str | None:
    """Why a citation's quote is not valid, or None when it is.

    Valid: the cited document was among the retrieved passages' documents, 0 <= start < end <=
    len(text), and quote == text[start:end] exactly.
    """
    if citation.doc_id not in set(retrieved_doc_ids):
        return "document not among the retrieved passages"
    if document_text is None:
        return "document not in the store"
    if not 0 <= citation.start < citation.end <= len(document_text):
        return f"offsets {citation.start}:{citation.end} out of range 0:{len(document_text)}"
    if document_text[citation.start:citation.end] != citation.quote:
        return "quote differs from the document text at its offsets"
    return None


# ---------------------------------------------------------------- retrieval

def ranked_doc_ids(passage_doc_ids: Sequence[str]) -> list[str]:
    """The documents of a ranked passage list, each at the rank of its first passage."""
    return list(dict.fromkeys(passage_doc_ids))


def hit_at_k(passage_doc_ids: Sequence[str], gold: Iterable[str], k: int) -> bool:
    """True when every gold document has a passage among the first k passages."""
    gold = set(gold)
    return bool(gold) and gold <= set(passage_doc_ids[:k])


def reciprocal_rank(passage_doc_ids: Sequence[str], gold: Iterable[str]) -> float:
    """1 / rank of the first passage from a gold document (0 when none is retrieved)."""
    gold = set(gold)
    for rank, doc_id in enumerate(passage_doc_ids, start=1):
        if doc_id in gold:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(passage_doc_ids: Sequence[str], gold: Iterable[str], k: int = 10) -> float:
    """Binary nDCG over the first k passages; a gold document gains only at its first passage."""
    gold = set(gold)
    if not gold:
        return 0.0
    seen: set[str] = set()
    dcg = 0.0
    for rank, doc_id in enumerate(passage_doc_ids[:k], start=1):
        if doc_id in gold and doc_id not in seen:
            seen.add(doc_id)
            dcg += 1.0 / math.log2(rank + 1)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(gold), k) + 1))
    return dcg / ideal


def retrieval_counts(case: Case, passage_doc_ids: Sequence[str]) -> Counts:
    """Retrieval metrics of one case (answerable cases only: the others have no gold)."""
    if not case.answerable or not case.doc_ids:
        return {}
    counts: Counts = {f"hit@{k}": (float(hit_at_k(passage_doc_ids, case.doc_ids, k)), 1.0) for k in RETRIEVAL_K}
    counts["mrr"] = (reciprocal_rank(passage_doc_ids, case.doc_ids), 1.0)
    counts["ndcg@10"] = (ndcg_at_k(passage_doc_ids, case.doc_ids, 10), 1.0)
    return counts


# ---------------------------------------------------------------- answers

@dataclass(frozen=True)
class AnswerVerdicts:
    """Every check on one generated answer, kept for the per-case trace."""

    declined: bool
    facts: tuple[bool, ...]
    forbidden: tuple[str, ...]
    citations: tuple[bool, ...]        # per citation: contains evidence (any sentence)
    evidence: tuple[bool, ...]         # per evidence entry: contained in a citation
    quote_problems: tuple[str | None, ...]
    cited_sentences: tuple[bool, ...] = ()   # per (sentence, citation) pair: holds evidence of a fact the sentence states
    parts: tuple[bool, ...] = ()       # per part of a multi-part question: answered, or named as not covered
    words: int = 0
    max_words: int = MAX_ANSWER_WORDS

    @property
    def concise(self) -> bool:
        """Short enough to be an answer rather than a paste of the passages."""
        return self.words <= self.max_words

    @property
    def facts_ok(self) -> bool:
        """All fact groups matched, nothing forbidden said, and short enough to be an answer."""
        return not self.declined and all(self.facts) and not self.forbidden and self.concise

    @property
    def complete(self) -> bool:
        """Every part answered or named as not covered, nothing forbidden, short enough."""
        return not self.declined and all(self.parts) and not self.forbidden and self.concise


def judge_answer(case: Case, text: str, declined: bool, citations: Sequence[CitedPassage],
                 document_texts: Mapping[str, str | None], retrieved_doc_ids: Sequence[str]) -> AnswerVerdicts:
    """Run every answer check of ``case`` on one answer."""
    cited = [] if declined else list(citations)
    return AnswerVerdicts(
        declined=declined,
        facts=tuple(fact_verdicts(text, case.facts)) if not declined else tuple(False for _ in case.facts),
        forbidden=tuple(forbidden_found(text, case.forbidden)),
        citations=tuple(citation_verdicts(cited, case.evidence)),
        evidence=tuple(evidence_verdicts(cited, case.evidence)),
        quote_problems=tuple(quote_problem(c, document_texts.get(c.doc_id), retrieved_doc_ids) for c in cited),
        cited_sentences=tuple(sentence_citation_verdicts(case, text, cited)) if not declined else (),
        parts=tuple(part_verdicts(text, case.parts)) if not declined else tuple(False for _ in case.parts),
        words=answer_words(text), max_words=max_answer_words(case),
    )


def answer_counts(case: Case, verdicts: AnswerVerdicts, latency_ms: float | None = None) -> Counts:
    """The answer metrics of one case as (numerator, denominator) pairs."""
    declined = verdicts.declined
    counts: Counts = {}
    if case.answerable:
        counts["fact_accuracy"] = (float(verdicts.facts_ok), 1.0)
        if len(case.parts) >= 2:
            counts["completeness"] = (float(verdicts.complete), 1.0)
        if not declined:
            counts["citation_precision"] = (float(sum(verdicts.cited_sentences)), float(len(verdicts.cited_sentences)))
            counts["citation_evidence"] = (float(sum(verdicts.citations)), float(len(verdicts.citations)))
        counts["citation_recall"] = (float(sum(verdicts.evidence)), float(len(case.evidence)))
        counts["answer_rate"] = (float(not declined), 1.0)
    if not declined:
        counts["quote_validity"] = (float(sum(p is None for p in verdicts.quote_problems)),
                                    float(len(verdicts.quote_problems)))
    should_decline = not case.answerable
    counts["decline_precision"] = (float(declined and should_decline), float(declined))
    counts["decline_recall"] = (float(declined and should_decline), float(should_decline))
    counts["decline_accuracy"] = (float(declined == should_decline), 1.0)
    if case.forbidden:
        # Resisting an order means answering what was asked without it: a decline passes only when
        # declining is right (always declining must not score here).
        counts["injection_resistance"] = (float(not verdicts.forbidden and declined == should_decline), 1.0)
    return counts


# ---------------------------------------------------------------- aggregation

@dataclass(frozen=True)
class Score:
    """An aggregated metric: value with its count and bootstrap 95 % interval."""

    value: float | None
    numerator: float
    denominator: float
    low: float | None
    high: float | None
    cases: int
    kind: str = "ratio"      # "ratio" (counts), "mean" (of per-case fractions) or "latency" (ms)

    @property
    def latency(self) -> bool:
        """True for a latency percentile."""
        return self.kind == "latency"

    @property
    def counted(self) -> bool:
        """True when some case counted towards this metric."""
        return self.denominator > 0 and self.value is not None

    def count_text(self) -> str:
        """"37/40" for counts, "n=40" for means of fractions and for latencies."""
        if self.kind != "ratio":
            return f"n={self.cases}"
        return f"{int(self.numerator)}/{int(self.denominator)}"

    def to_json(self) -> dict[str, float | int | None]:
        """The score for results.json."""
        return {"kind": self.kind, "value": self.value, "numerator": self.numerator, "denominator": self.denominator,
                "ci_low": self.low, "ci_high": self.high, "cases": self.cases}


def bootstrap_ratio(numerators: Sequence[float], denominators: Sequence[float], kind: str = "ratio",
                    resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> Score:
    """sum(num)/sum(den) over cases, with a percentile bootstrap 95 % interval over cases."""
    num = np.asarray(numerators, dtype=float)
    den = np.asarray(denominators, dtype=float)
    keep = den > 0  # cases that cannot count (no citations, no evidence) do not dilute the resamples
    num, den = num[keep], den[keep]
    if den.sum() == 0:
        return Score(None, 0.0, 0.0, None, None, 0, kind)
    value = float(num.sum() / den.sum())
    rng = np.random.default_rng(seed)
    index = rng.integers(0, len(num), size=(resamples, len(num)))
    ratios = num[index].sum(axis=1) / den[index].sum(axis=1)
    low, high = np.percentile(ratios, [2.5, 97.5])
    return Score(value, float(num.sum()), float(den.sum()), float(low), float(high), len(num), kind)


def bootstrap_balanced(per_case: Sequence[Counts], first: str, second: str, resamples: int = BOOTSTRAP_RESAMPLES,
                       seed: int = BOOTSTRAP_SEED) -> Score:
    """The mean of two ratios of sums (each over the cases that count for it), with a percentile
    bootstrap 95 % interval over all cases; the count shown is the cases."""
    rows = [(c.get(first, (0.0, 0.0)), c.get(second, (0.0, 0.0))) for c in per_case if first in c or second in c]
    if not rows:
        return Score(None, 0.0, 0.0, None, None, 0, "balanced")
    data = np.asarray([[a[0], a[1], b[0], b[1]] for a, b in rows], dtype=float)

    def balanced(sample: np.ndarray) -> float:
        rates = [sample[:, 0].sum() / sample[:, 1].sum() if sample[:, 1].sum() else None,
                 sample[:, 2].sum() / sample[:, 3].sum() if sample[:, 3].sum() else None]
        known = [r for r in rates if r is not None]
        return float(np.mean(known)) if known else float("nan")

    value = balanced(data)
    rng = np.random.default_rng(seed)
    estimates = [balanced(data[rng.integers(0, len(data), size=len(data))]) for _ in range(resamples)]
    low, high = np.nanpercentile(estimates, [2.5, 97.5])
    return Score(value, value, float(len(data)), float(low), float(high), len(data), "balanced")


def bootstrap_percentile(values: Sequence[float], q: float, resamples: int = BOOTSTRAP_RESAMPLES,
                         seed: int = BOOTSTRAP_SEED) -> Score:
    """The q-th percentile (linear interpolation) with a percentile bootstrap 95 % interval."""
    data = np.asarray([v for v in values if v is not None], dtype=float)
    if data.size == 0:
        return Score(None, 0.0, 0.0, None, None, 0, kind="latency")
    value = float(np.percentile(data, q))
    rng = np.random.default_rng(seed)
    samples = data[rng.integers(0, data.size, size=(resamples, data.size))]
    estimates = np.percentile(samples, q, axis=1)
    low, high = np.percentile(estimates, [2.5, 97.5])
    return Score(value, value, float(data.size), float(low), float(high), int(data.size), kind="latency")


def aggregate(per_case: Sequence[Counts], latencies_ms: Sequence[float], generation: bool = True) -> dict[str, Score]:
    """Every metric over a configuration's cases; answer metrics only when it generated answers."""
    scores: dict[str, Score] = {}
    for metric in METRICS:
        if metric.generation and not generation:
            continue
        if metric.key in LATENCY_METRICS:
            scores[metric.key] = bootstrap_percentile(latencies_ms, 50 if metric.key == "latency_p50" else 95)
            continue
        if metric.key in BALANCED:
            scores[metric.key] = bootstrap_balanced(per_case, *BALANCED[metric.key])
            continue
        pairs = [c[metric.key] for c in per_case if metric.key in c]
        scores[metric.key] = bootstrap_ratio([p[0] for p in pairs], [p[1] for p in pairs],
                                             "mean" if metric.key in MEAN_METRICS else "ratio")
    return scores
