#!/usr/bin/env python3
"""Propose CI-gate thresholds (evals/thresholds.json) from the results.json of real runs.

    python evals/update_thresholds.py evals/reports/<time>/results.json [...]   # print
    python evals/update_thresholds.py --write evals/reports/<time>/results.json  # and save

Each gated metric of each configuration on the quick suite gets a minimum one case below
the measured score (a mean metric: 1/n below; a metric whose minimum would be 0 is not gated, since it
could never fail), quote validity stays at its measured value
(verbatim quotes are a guarantee, not a tendency), and p95 latency gets a maximum of three
times the measured value, at least 5 s (machines differ). Read docs/METRICS.md before lowering anything.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
THRESHOLDS = ROOT / "evals" / "thresholds.json"
# The balanced decline accuracy is the mean of two rates the gate already keeps (decline recall, and
# decline accuracy for the answered side), so it is not gated on its own.
GATED = ("hit@5", "mrr", "fact_accuracy", "completeness", "citation_precision", "citation_recall", "quote_validity",
         "decline_accuracy", "decline_recall", "injection_resistance")
EXACT = ("quote_validity",)
LATENCY_FACTOR = 3.0
LATENCY_FLOOR_MS = 5000.0


def proposed_limits(scores: dict, generates: bool) -> dict:
    """min/max thresholds for one configuration's scores."""
    minimum = {}
    for key in GATED:
        score = scores.get(key)
        if not score or score["value"] is None or not score["denominator"]:
            continue
        if key in EXACT:
            value = score["value"]
        elif score.get("kind") == "mean":
            value = score["value"] - 1 / score["cases"]
        else:
            value = (score["numerator"] - 1) / score["denominator"]
        value = math.floor(value * 100) / 100
        if value <= 0:
            # A minimum of 0 cannot fail: a score too close to 0 on the quick suite gates nothing.
            print(f"not gated: {key} measured {score['numerator']:g}/{score['denominator']:g}; one case less is 0",
                  file=sys.stderr)
            continue
        minimum[key] = value
    limits: dict = {"min": minimum, "max": {}}
    p95 = scores.get("latency_p95")
    if generates and p95 and p95["value"]:
        # Three times the measured p95, and at least 5 s: sub-second latencies jitter most between machines
        # and under the parallel test run.
        limits["max"]["latency_p95"] = max(round(p95["value"] * LATENCY_FACTOR, -2), LATENCY_FLOOR_MS)
    return limits


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="+", type=Path, help="results.json of runs on the quick suite")
    parser.add_argument("--write", action="store_true", help="update evals/thresholds.json")
    args = parser.parse_args(argv)
    current = json.loads(THRESHOLDS.read_text())
    sources = []
    for path in args.results:
        data = json.loads(path.read_text())
        for suite in data["suites"]:
            if suite["suite"] != current["suite"]:
                continue
            for name, config in suite["configs"].items():
                if name in current["configs"]:
                    # A gate that runs the first `cases` of the suite takes its limits from a run of as many.
                    cases = current["configs"][name].get("cases")
                    if cases is not None and len(config["records"]) != cases:
                        print(f"{path}: {name} answered {len(config['records'])} cases; its gate runs {cases} "
                              f"(python -m rag eval --suite {current['suite']} --configs {name} --limit {cases})",
                              file=sys.stderr)
                        return 1
                    current["configs"][name] = {**({"cases": cases} if cases else {}),
                                                **proposed_limits(config["scores"], config["generates"])}
                    sources.append(f"{name}: {path.parent.relative_to(ROOT) if path.is_relative_to(ROOT) else path}"
                                   f" ({data['meta'].get('started_utc')}, commit {data['meta'].get('git_commit')})")
    if not sources:
        print(f"no '{current['suite']}' suite results for {', '.join(current['configs'])} in these files",
              file=sys.stderr)
        return 1
    current["from_report"] = "; ".join(sources)
    text = json.dumps(current, indent=2) + "\n"
    print(text)
    if args.write:
        THRESHOLDS.write_text(text)
        print(f"wrote {THRESHOLDS}; commit it with the report(s) it came from", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
