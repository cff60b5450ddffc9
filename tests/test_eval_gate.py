"""The CI gate: the quick suite must keep the scores recorded in evals/thresholds.json.

How to update the thresholds honestly: docs/METRICS.md, "The CI gate and its thresholds".
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.config import PROJECT_ROOT
from rag.evaluation.report import summary_text, write_report
from rag.evaluation.runner import Evaluation, parse_configs
from rag.evaluation.scoring import METRIC_BY_KEY
from rag.evaluation.suites import load_suite

from .conftest import make_settings

THRESHOLDS = json.loads((PROJECT_ROOT / "evals" / "thresholds.json").read_text())
ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts" / "eval-gate"
BACKEND = {"default": "llamacpp", "extractive": "extractive"}


def check(scores: dict, limits: dict) -> list[str]:
    """The thresholds a run's scores break, as sentences."""
    failures = []
    for bound, compare in (("min", lambda v, t: v >= t), ("max", lambda v, t: v <= t)):
        for key, threshold in limits.get(bound, {}).items():
            score = scores.get(key)
            if key not in METRIC_BY_KEY or score is None or not score.counted:
                failures.append(f"{key}: not measured (threshold {bound} {threshold})")
            elif not compare(score.value, threshold):
                failures.append(f"{key} = {score.value:.3f} ({score.count_text()}) is "
                                f"{'below' if bound == 'min' else 'above'} its {bound} {threshold}")
    return failures


def test_check_reads_thresholds_both_ways() -> None:
    from rag.evaluation.scoring import bootstrap_percentile, bootstrap_ratio
    scores = {"fact_accuracy": bootstrap_ratio([1, 1, 0], [1, 1, 1]), "latency_p95": bootstrap_percentile([10, 20], 95)}
    assert check(scores, {"min": {"fact_accuracy": 0.6}, "max": {"latency_p95": 100}}) == []
    assert len(check(scores, {"min": {"fact_accuracy": 0.7, "citation_recall": 0.1}, "max": {"latency_p95": 5}})) == 3


def test_thresholds_name_known_metrics() -> None:
    assert THRESHOLDS["suite"] == "quick"
    for config, limits in THRESHOLDS["configs"].items():
        assert config in BACKEND
        assert set(limits.get("min", {})) | set(limits.get("max", {})) <= set(METRIC_BY_KEY)
        assert set(limits) <= {"min", "max", "cases"}
        # A minimum of 0 cannot fail: such a gate gates nothing.
        assert all(value > 0 for value in limits.get("min", {}).values()), (config, limits["min"])


@pytest.mark.slow
@pytest.mark.parametrize("config", list(THRESHOLDS["configs"]))
def test_quick_suite_meets_thresholds(config: str, tmp_path: Path) -> None:
    # The LLM answers in ~20 s here: its gate runs the first `cases` of the suite (a balanced mix).
    suite = load_suite(THRESHOLDS["suite"]).limited(THRESHOLDS["configs"][config].get("cases"))
    evaluation = Evaluation(make_settings(tmp_path / "data"), backend=BACKEND[config])
    run = evaluation.run([suite], parse_configs(config), command=f"tests/test_eval_gate.py [{config}]")
    folder = write_report(run, ARTIFACTS / config, latest=False)
    scores = run.suites[0].configs[config].scores
    failures = check(scores, THRESHOLDS["configs"][config])
    assert not failures, (f"the {config} configuration fell below evals/thresholds.json on the quick suite "
                          f"(report: {folder}/report.html):\n  " + "\n  ".join(failures)
                          + "\n" + summary_text(run))
