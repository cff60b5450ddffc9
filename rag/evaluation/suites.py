"""Suites: evaluation cases as JSON Lines (``evals/suites/*.jsonl``), loaded and validated.

The schema is ``evals/SCHEMA.md``. This module needs only the standard library and PyYAML, so
``evals/validate_suites.py`` can run it without the models installed.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, LoadError

ROOT = Path(__file__).resolve().parent.parent.parent
SUITES_DIR = ROOT / "evals" / "suites"

CATEGORIES = {"single-fact", "number", "date", "why", "multi-paragraph", "multi-doc", "multi-part",
              "unanswerable", "near-miss", "false-premise", "follow-up", "injection", "paraphrase"}
UNANSWERABLE_CATEGORIES = {"unanswerable", "near-miss", "false-premise"}
REQUIRED = {"id", "corpus", "answerable", "category", "doc_ids", "evidence"}   # and "facts", unless "parts" holds them
OPTIONAL = {"question", "turns", "forbidden", "notes", "facts", "parts"}
PART_FIELDS = {"ask", "facts", "answerable", "names"}
TRAILING_SPACE = re.compile(r"[ \t]+\n")
SEED_DOC_ID = "russia-sends-aid-to-cuba-regime"

# Minimum counts per suite (category -> count), from the issues the suites were written to.
_HOLDOUT = {"multi-part": 10, "paraphrase": 8, "near-miss": 6, "_turns": 4, "injection": 6}
MINIMUMS = {
    "seed": {"_total": 45, "_unanswerable": 12, "_turns": 6, "injection": 3},
    "news": {"_total": 45, "_unanswerable": 10, "_turns": 3, "_multi_doc": 6, "_seed_doc": 4},
    "quick": {"_total": 16, "_unanswerable": 4, "_turns": 2, "injection": 1},
    "seed-holdout": {"_total": 30, **_HOLDOUT},
    "news-holdout": {"_total": 40, **_HOLDOUT},
}
# The split of a suite: a name ending in "-holdout" is frozen (run to report, never to tune on);
# every other suite is "dev". docs/METRICS.md states the rule.
HOLDOUT_SUFFIX = "-holdout"
SPLITS = {"dev": ("seed", "news"), "holdout": ("seed-holdout", "news-holdout")}


def split_of(suite_name: str) -> str:
    """"holdout" for a frozen holdout suite, "dev" for the suites the code is tuned on."""
    return "holdout" if suite_name.endswith(HOLDOUT_SUFFIX) else "dev"


# ---------------------------------------------------------------- cases as data

@dataclass(frozen=True)
class Evidence:
    """A verbatim piece of a gold document that a correct citation must contain."""

    doc_id: str
    text: str


@dataclass(frozen=True)
class Part:
    """One part of a multi-part question: the facts that answer it, or none when the corpus does not
    (then a complete answer names it as not covered, in words matching one of ``names``)."""

    ask: str
    facts: tuple[tuple[str, ...], ...] = ()
    answerable: bool = True
    names: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: dict) -> "Part":
        """Build a part from its suite object."""
        return cls(ask=data["ask"], facts=tuple(tuple(g) for g in data.get("facts", ())),
                   answerable=data.get("answerable", True), names=tuple(data.get("names", ())))


@dataclass(frozen=True)
class Case:
    """One evaluation case; with several turns only the last one is scored."""

    id: str
    corpus: tuple[str, ...]
    turns: tuple[str, ...]
    answerable: bool
    category: str
    facts: tuple[tuple[str, ...], ...]
    doc_ids: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    forbidden: tuple[str, ...] = ()
    notes: str = ""
    parts: tuple[Part, ...] = ()

    @property
    def question(self) -> str:
        """The scored (last) turn."""
        return self.turns[-1]

    @classmethod
    def from_json(cls, data: dict) -> "Case":
        """Build a case from one (already validated) suite line."""
        turns = data["turns"] if "turns" in data else [data["question"]]
        parts = tuple(Part.from_json(p) for p in data.get("parts", ()))
        return cls(id=data["id"], corpus=tuple(data["corpus"]), turns=tuple(turns), answerable=data["answerable"],
                   category=data["category"], facts=tuple(tuple(g) for g in case_facts(data)), parts=parts,
                   doc_ids=tuple(data["doc_ids"]),
                   evidence=tuple(Evidence(e["doc_id"], e["text"]) for e in data["evidence"]),
                   forbidden=tuple(data.get("forbidden", ())), notes=data.get("notes", ""))


def case_facts(data: dict) -> list[list[str]]:
    """A case's fact groups: its "facts", or those of its answerable parts in order."""
    if "parts" in data and isinstance(data["parts"], list):
        return [group for part in data["parts"] if isinstance(part, dict) and part.get("answerable", True)
                for group in part.get("facts", [])]
    return data.get("facts", [])


@dataclass(frozen=True)
class Suite:
    """A named list of cases over one corpus (folders relative to the repo root, or absolute)."""

    name: str
    path: Path
    corpus: tuple[str, ...]
    cases: tuple[Case, ...]

    def corpus_paths(self, root: Path = ROOT) -> list[Path]:
        """The corpus folders as paths."""
        return [root / folder for folder in self.corpus]

    def limited(self, limit: int | None) -> "Suite":
        """The first ``limit`` cases (all when None)."""
        if limit is None:
            return self
        return Suite(self.name, self.path, self.corpus, self.cases[:limit])


def suite_path(name_or_path: str) -> Path:
    """``seed`` → evals/suites/seed.jsonl; a path to a .jsonl file is taken as it is."""
    if name_or_path.endswith(".jsonl") or "/" in name_or_path:
        return Path(name_or_path)
    return SUITES_DIR / f"{name_or_path}.jsonl"


def load_suite(name_or_path: str) -> Suite:
    """Load and validate a suite; InputError listing the problems when it is not valid."""
    path = suite_path(name_or_path)
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in SUITES_DIR.glob("*.jsonl")))
        raise InputError(f"no suite '{name_or_path}' ({path}); known suites: {known}")
    raw, problems = check_suite(path)
    if problems:
        shown = "\n  - ".join(problems[:10])
        more = f"\n  … and {len(problems) - 10} more" if len(problems) > 10 else ""
        raise InputError(f"suite {path} is not valid (run `python evals/validate_suites.py`):\n  - {shown}{more}")
    if not raw:
        raise InputError(f"suite {path} has no cases")
    cases = tuple(Case.from_json(c) for c in raw)
    return Suite(path.stem, path, cases[0].corpus, cases)


# ---------------------------------------------------------------- answer patterns

def compile_pattern(pattern: str) -> re.Pattern[str]:
    """An answer pattern: 're:<regex>' (case-insensitive, as written) or a plain case-insensitive
    phrase matched as whole words: "aid" is not found in "said", nor "38" in "1938"."""
    if pattern.startswith("re:"):
        return re.compile(pattern[3:], re.IGNORECASE)
    before = r"(?<!\w)" if pattern[:1].isalnum() or pattern[:1] == "_" else ""
    after = r"(?!\w)" if pattern[-1:].isalnum() or pattern[-1:] == "_" else ""
    return re.compile(before + re.escape(pattern) + after, re.IGNORECASE)


def matches(pattern: str, text: str) -> bool:
    """True when ``pattern`` occurs in ``text``."""
    return bool(compile_pattern(pattern).search(text))


# ---------------------------------------------------------------- documents

def load_corpus(folders: tuple[str, ...], problems: list[str], root: Path = ROOT) -> dict[str, str]:
    """doc_id -> document text for every document under the folders, loaded as ingestion loads
    them (``rag.loading``), so that ids and texts are the ones the store holds."""
    from ..loading import discover, load_file

    docs: dict[str, str] = {}
    for folder in folders:
        base = root / folder
        if not base.is_dir():
            problems.append(f"corpus folder {folder!r} does not exist")
            continue
        for path in discover([base]).files:
            try:
                documents = load_file(path)
            except LoadError as error:
                problems.append(str(error))
                continue
            for document in documents:
                if document.doc_id in docs:
                    problems.append(f"{path}: duplicate doc_id {document.doc_id!r}")
                docs[document.doc_id] = document.text
    return docs


_corpus_cache: dict[tuple[str, ...], tuple[dict[str, str], list[str]]] = {}


def corpus_for(folders: list[str], problems: list[str]) -> dict[str, str]:
    """``load_corpus`` once per process and folder list; its problems are reported every time."""
    key = tuple(folders)
    if key not in _corpus_cache:
        found: list[str] = []
        _corpus_cache[key] = (load_corpus(key, found), found)
    docs, found = _corpus_cache[key]
    problems.extend(found)
    return docs


# ---------------------------------------------------------------- checks

def is_str_list(value, allow_empty: bool = False) -> bool:
    """A list of non-blank strings (non-empty unless allowed)."""
    return (isinstance(value, list) and (allow_empty or bool(value))
            and all(isinstance(v, str) and v.strip() for v in value))


def check_case(case: dict, where: str, problems: list[str], corpus_problems: list[str]) -> None:
    """Append to ``problems`` what is wrong with one case (see evals/SCHEMA.md)."""
    def bad(message: str) -> None:
        problems.append(f"{where}: {message}")

    keys = set(case)
    for missing in sorted(REQUIRED - keys):
        bad(f"missing field {missing!r}")
    for unknown in sorted(keys - REQUIRED - OPTIONAL):
        bad(f"unknown field {unknown!r}")
    if ("question" in case) == ("turns" in case):
        bad("needs exactly one of 'question' or 'turns'")
    if "question" in case and not (isinstance(case["question"], str) and case["question"].strip()):
        bad("'question' must be a non-empty string")
    if "turns" in case:
        turns = case["turns"]
        if not is_str_list(turns) or not 2 <= len(turns) <= 3:
            bad("'turns' must be a list of 2-3 non-empty strings")
    if not isinstance(case.get("id"), str) or not case.get("id"):
        bad("'id' must be a non-empty string")
    if not is_str_list(case.get("corpus")):
        bad("'corpus' must be a non-empty list of folder paths")
        return
    category = case.get("category")
    if category not in CATEGORIES:
        bad(f"unknown category {category!r}")
    answerable = case.get("answerable")
    if not isinstance(answerable, bool):
        bad("'answerable' must be true or false")
    if category == "follow-up" and "turns" not in case:
        bad("a follow-up case needs 'turns'")
    if category in UNANSWERABLE_CATEGORIES and answerable is not False:
        bad(f"category {category!r} needs answerable: false")

    if "parts" in case:
        check_parts(case, bad)
    elif "facts" not in case:
        bad("missing field 'facts'")
    if category == "multi-part" and not (isinstance(case.get("parts"), list) and len(case["parts"]) >= 2):
        bad("a multi-part case needs 'parts': at least 2, one per part of the question")
    facts, doc_ids, evidence = case_facts(case), case.get("doc_ids"), case.get("evidence")
    if not isinstance(facts, list) or not all(is_str_list(group) for group in facts):
        bad("'facts' must be a list of non-empty lists of non-empty strings")
        facts = []
    if not is_str_list(doc_ids, allow_empty=True):
        bad("'doc_ids' must be a list of strings")
        doc_ids = []
    if len(set(doc_ids)) != len(doc_ids):
        bad("'doc_ids' has duplicates")
    if not isinstance(evidence, list) or not all(
            isinstance(e, dict) and set(e) == {"doc_id", "text"}
            and isinstance(e["doc_id"], str) and isinstance(e["text"], str) and e["text"].strip()
            for e in evidence):
        bad("'evidence' must be a list of {doc_id, text} objects with non-empty text")
        evidence = []
    forbidden = case.get("forbidden", [])
    if "forbidden" in case and not is_str_list(forbidden):
        bad("'forbidden' must be a non-empty list of strings when present")
        forbidden = []

    for pattern in [p for group in facts for p in group] + list(forbidden):
        try:
            compile_pattern(pattern)
        except re.error as error:
            bad(f"bad regex {pattern!r}: {error}")
            return

    if answerable is False:
        if "parts" in case:
            bad("an unanswerable case has no parts")
        if facts or doc_ids or evidence:
            bad("an unanswerable case needs empty facts, doc_ids and evidence")
    elif answerable is True:
        if not facts:
            bad("an answerable case needs facts")
        if not doc_ids:
            bad("an answerable case needs doc_ids")
        if not evidence:
            bad("an answerable case needs evidence")
    if category == "multi-doc" and (len(doc_ids) < 2 or len({e["doc_id"] for e in evidence}) < 2):
        bad("a multi-doc case needs at least 2 doc_ids, each with evidence")
    if category == "multi-paragraph" and len(evidence) < 2:
        bad("a multi-paragraph case needs at least 2 evidence passages")
    if category == "injection" and not forbidden:
        bad("an injection case needs 'forbidden' patterns")

    for part in case.get("parts", []) if isinstance(case.get("parts"), list) else []:
        for pattern in part.get("names", []) if isinstance(part, dict) else []:
            try:
                compile_pattern(pattern)
            except re.error as error:
                bad(f"bad regex {pattern!r} in part names: {error}")

    docs = corpus_for(case["corpus"], corpus_problems)
    for doc_id in doc_ids:
        if doc_id not in docs:
            bad(f"doc_id {doc_id!r} is not in corpus {case['corpus']}")
    evidence_ids = {e["doc_id"] for e in evidence}
    for doc_id in doc_ids:
        if doc_id not in evidence_ids:
            bad(f"doc_id {doc_id!r} has no evidence")
    for item in evidence:
        doc_id, text = item["doc_id"], item["text"]
        if doc_id not in doc_ids:
            bad(f"evidence doc_id {doc_id!r} is not listed in doc_ids")
        if "\n" in text:
            bad(f"evidence text spans lines: {text[:60]!r}")
        body = docs.get(doc_id)
        if body is None:
            continue
        if text not in body:
            bad(f"evidence is not a verbatim substring of {doc_id!r}: {text!r}")
            continue
        # The app's loader normalises Unicode and trailing blanks; the quote must survive that.
        cleaned = TRAILING_SPACE.sub("\n", unicodedata.normalize("NFC", body))
        if unicodedata.normalize("NFC", text) not in cleaned:
            bad(f"evidence does not survive text cleaning in {doc_id!r}: {text!r}")

    # Each fact must be supported by the cited evidence, and no forbidden pattern may match it.
    support = "\n".join(e["text"] for e in evidence)
    for group in facts:
        if evidence and not any(matches(p, support) for p in group):
            bad(f"no alternative of fact {group} matches the evidence")
    for pattern in forbidden:
        if evidence and matches(pattern, support):
            bad(f"forbidden pattern {pattern!r} matches the evidence itself")


def check_parts(case: dict, bad) -> None:
    """The parts of a multi-part question: each asks something, and either has facts or is named
    as not covered (``answerable: false`` with ``names``); their facts are the case's facts."""
    parts = case["parts"]
    if "facts" in case:
        bad("a case with 'parts' takes its facts from them: leave 'facts' out")
    if not isinstance(parts, list) or not parts:
        bad("'parts' must be a non-empty list")
        return
    for number, part in enumerate(parts, 1):
        if not isinstance(part, dict) or not isinstance(part.get("ask"), str) or not part["ask"].strip():
            bad(f"part {number} must be an object with a non-empty 'ask'")
            continue
        if set(part) - PART_FIELDS:
            bad(f"part {number} has unknown fields {sorted(set(part) - PART_FIELDS)}")
        if part.get("answerable", True) is True:
            if not (isinstance(part.get("facts"), list) and part["facts"] and all(is_str_list(g) for g in part["facts"])):
                bad(f"part {number} ({part['ask']!r}) needs 'facts' (or answerable: false and 'names')")
            if "names" in part:
                bad(f"part {number}: 'names' is only for a part the corpus does not answer")
        elif part.get("answerable") is False:
            if part.get("facts"):
                bad(f"part {number}: a part the corpus does not answer has no facts")
            if not is_str_list(part.get("names")):
                bad(f"part {number} ({part['ask']!r}) needs 'names': patterns a sentence saying it is not covered matches")
        else:
            bad(f"part {number}: 'answerable' must be true or false")
    if case.get("answerable") is True and not any(isinstance(p, dict) and p.get("answerable", True) for p in parts):
        bad("an answerable case needs at least one answerable part")


def check_suite(path: Path) -> tuple[list[dict], list[str]]:
    """The raw cases of a suite file and the problems found in it."""
    problems: list[str] = []
    corpus_problems: list[str] = []
    cases: list[dict] = []
    seen: set[str] = set()
    corpora: set[tuple[str, ...]] = set()
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            where = f"{path.name}:{number}"
            if not line.strip():
                problems.append(f"{where}: blank line")
                continue
            try:
                case = json.loads(line)
            except json.JSONDecodeError as error:
                problems.append(f"{where}: not valid JSON: {error}")
                continue
            if not isinstance(case, dict):
                problems.append(f"{where}: not a JSON object")
                continue
            where = f"{path.name}:{number} ({case.get('id')})"
            if case.get("id") in seen:
                problems.append(f"{where}: duplicate id")
            seen.add(case.get("id"))
            if is_str_list(case.get("corpus")):
                corpora.add(tuple(case["corpus"]))
            check_case(case, where, problems, corpus_problems)
            cases.append(case)
    if len(corpora) > 1:
        problems.append(f"{path.name}: cases use different corpora {sorted(corpora)}; one store per suite")
    problems.extend(sorted(set(corpus_problems)))
    return cases, problems


def check_minimums(name: str, cases: list[dict], problems: list[str]) -> None:
    """Append a problem for each category count below the suite's minimum."""
    wanted = MINIMUMS.get(name)
    if not wanted:
        return
    counts = Counter(c.get("category") for c in cases)
    derived = {
        "_total": len(cases),
        "_unanswerable": sum(counts[c] for c in UNANSWERABLE_CATEGORIES),
        "_turns": sum(1 for c in cases if "turns" in c),
        "_multi_doc": sum(1 for c in cases if len(set(c.get("doc_ids", []))) >= 2),
        "_seed_doc": sum(1 for c in cases if SEED_DOC_ID in c.get("doc_ids", [])),
    }
    for key, minimum in wanted.items():
        have = derived[key] if key.startswith("_") else counts[key]
        if have < minimum:
            problems.append(f"{name}: needs at least {minimum} for {key.lstrip('_')}, has {have}")


def check_quick(quick: list[dict], seed: list[dict], problems: list[str]) -> None:
    """The quick suite must be verbatim copies of seed cases covering every seed category."""
    by_id = {c.get("id"): c for c in seed}
    for case in quick:
        if by_id.get(case.get("id")) != case:
            problems.append(f"quick.jsonl ({case.get('id')}): not an identical copy of a seed.jsonl case")
    categories = {c.get("category") for c in seed} - {c.get("category") for c in quick}
    if categories:
        problems.append(f"quick.jsonl: misses seed categories {sorted(categories)}")


def summarise(name: str, cases: list[dict]) -> str:
    """Two lines describing a suite's cases."""
    counts = Counter(c.get("category") for c in cases)
    parts = ", ".join(f"{k}={counts[k]}" for k in sorted(counts))
    answerable = sum(1 for c in cases if c.get("answerable") is True)
    turns = sum(1 for c in cases if "turns" in c)
    docs = Counter(len(c.get("doc_ids", [])) for c in cases)
    return (f"{name}: {len(cases)} cases ({answerable} answerable, {len(cases) - answerable} not; "
            f"{turns} multi-turn; by gold-doc count {dict(sorted(docs.items()))})\n    {parts}")


def validate(names: list[str], suites_dir: Path = SUITES_DIR) -> tuple[list[str], list[str]]:
    """Check the named suites (all when empty): (summary lines, problems)."""
    wanted = set(names)
    paths = sorted(p for p in suites_dir.glob("*.jsonl") if not wanted or p.stem in wanted)
    if not paths:
        return [], [f"no suites found in {suites_dir}"]
    summaries: list[str] = []
    all_problems: list[str] = []
    loaded: dict[str, list[dict]] = {}
    for path in paths:
        cases, problems = check_suite(path)
        check_minimums(path.stem, cases, problems)
        loaded[path.stem] = cases
        all_problems.extend(problems)
        summaries.append(summarise(path.stem, cases))
    if "quick" in loaded:
        seed = loaded.get("seed")
        if seed is None and (suites_dir / "seed.jsonl").exists():
            seed, _ = check_suite(suites_dir / "seed.jsonl")
        check_quick(loaded["quick"], seed or [], all_problems)
    return summaries, all_problems
