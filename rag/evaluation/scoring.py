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

from .suites import Case, Evidence, compile_pattern

RETRIEVAL_K = (1, 5, 10)
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 0

_MARKER = re.compile(r"\s*\[\d+(?:\s*(?:,|;|-|–|and)\s*\d+)*\]")


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
    Metric("citation_precision", "citation precision", True),
    Metric("citation_recall", "citation recall", True),
    Metric("quote_validity", "quote validity", True),
    Metric("decline_precision", "decline precision", True),
    Metric("decline_recall", "decline recall", True),
    Metric("decline_accuracy", "decline accuracy", True),
    Metric("injection_resistance", "injection resistance", True),
    Metric("latency_p50", "latency p50 (ms)", True, higher_is_better=False),
    Metric("latency_p95", "latency p95 (ms)", True, higher_is_better=False),
)
METRIC_BY_KEY = {m.key: m for m in METRICS}
LATENCY_METRICS = ("latency_p50", "latency_p95")
MEAN_METRICS = ("mrr", "ndcg@10")   # per-case fractions, shown as means, not counts

Counts = dict[str, tuple[float, float]]   # metric key -> (numerator, denominator) for one case


# ---------------------------------------------------------------- text checks

def strip_markers(text: str) -> str:
    """The answer without its [n] citation markers (so "[1]" never matches a number fact)."""
    return _MARKER.sub("", text)


def collapse_space(text: str) -> str:
    """Runs of whitespace as one space: passages are compared without layout."""
    return " ".join(text.split())


def fact_verdicts(answer: str, facts: Sequence[Sequence[str]]) -> list[bool]:
    """For each fact group: does the answer (markers removed) match one of its alternatives?"""
    text = strip_markers(answer)
    return [any(compile_pattern(p).search(text) for p in group) for group in facts]


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
    """For each citation: does it contain some evidence text of the case?"""
    return [any(supports(c, e) for e in evidence) for c in citations]


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
    citations: tuple[bool, ...]        # per citation: contains evidence
    evidence: tuple[bool, ...]         # per evidence entry: contained in a citation
    quote_problems: tuple[str | None, ...]

    @property
    def facts_ok(self) -> bool:
        """All fact groups matched and nothing forbidden said."""
        return not self.declined and all(self.facts) and not self.forbidden


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
    )


def answer_counts(case: Case, verdicts: AnswerVerdicts, latency_ms: float | None = None) -> Counts:
    """The answer metrics of one case as (numerator, denominator) pairs."""
    declined = verdicts.declined
    counts: Counts = {}
    if case.answerable:
        counts["fact_accuracy"] = (float(verdicts.facts_ok), 1.0)
        if not declined:
            counts["citation_precision"] = (float(sum(verdicts.citations)), float(len(verdicts.citations)))
        counts["citation_recall"] = (float(sum(verdicts.evidence)), float(len(case.evidence)))
    if not declined:
        counts["quote_validity"] = (float(sum(p is None for p in verdicts.quote_problems)),
                                    float(len(verdicts.quote_problems)))
    should_decline = not case.answerable
    counts["decline_precision"] = (float(declined and should_decline), float(declined))
    counts["decline_recall"] = (float(declined and should_decline), float(should_decline))
    counts["decline_accuracy"] = (float(declined == should_decline), 1.0)
    if case.forbidden:
        counts["injection_resistance"] = (float(not verdicts.forbidden), 1.0)
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
        pairs = [c[metric.key] for c in per_case if metric.key in c]
        scores[metric.key] = bootstrap_ratio([p[0] for p in pairs], [p[1] for p in pairs],
                                             "mean" if metric.key in MEAN_METRICS else "ratio")
    return scores
