"""Citation markers and "no answer": the one grammar every stage reads and writes.

An answer is sentences, each ending with markers that name the numbered passages supporting it:
"Russia sent nearly 100 tons of aid [1]." A marker holds one number or several joined by commas,
semicolons, "and" or a range: "[1]", "[1, 2]", "[1][3]", "[1-3]". A backend that finds no answer
writes the sentinel ``NOT_IN_CORPUS``; a model may also say so in words, which ``is_decline`` reads.
Verification, the chat's rendering, the follow-up rewriter, the repeat detector and the scorers
all parse markers here, so they agree on what a marker is.
"""

from __future__ import annotations

import re

from .chunking import split_sentences

# What a backend writes when the passages hold no answer.
NOT_IN_CORPUS = "NOT_IN_CORPUS"

_NUMBERS = r"\d+(?:\s*(?:,|;|and|-|–)\s*\d+)*"
MARKER = re.compile(rf"\s*\[({_NUMBERS})\]")
# Markers placed after a sentence's full stop ("… aid. [1]"), to be moved before it.
_MARKERS_AFTER_STOP = re.compile(rf"([.!?])((?:\s*\[{_NUMBERS}\])+)")
# The end of a sentence in text being written: its full stop, any markers, then a space.
SENTENCE_END = re.compile(rf"(?<=[.!?])(?:\s*\[{_NUMBERS}\])*\s+")

_DECLINE = re.compile(
    r"NOT_IN_CORPUS|\b(?:passages?|documents?|context|corpus|sources?|text)s?\b[^.]{0,60}\b(?:do(?:es)?\s+not|don't|"
    r"doesn't|did not|cannot|can't)\b[^.]{0,40}\b(?:contain|mention|include|say|provide|specify|answer|address|state|have)"
    r"|\b(?:I\s+(?:do\s+not|don't|cannot|can't)\s+(?:know|find|answer|determine|tell))"
    r"|\bno\s+(?:information|mention|details?)\s+(?:about|on|of|regarding)\b"
    r"|\b(?:not|isn't)\s+(?:mentioned|specified|stated|provided|given|addressed)\s+in\s+the\b",
    re.IGNORECASE)


def is_decline(text: str) -> bool:
    """True when text says the passages do not hold the answer (the sentinel, or in words)."""
    return bool(_DECLINE.search(text))


def says_no_answer(raw: str) -> bool:
    """A backend's whole output declines: empty, the sentinel, or a refusal in words citing nothing."""
    return not raw or NOT_IN_CORPUS in raw or (is_decline(raw) and not MARKER.search(raw))


def cited_numbers(marker_body: str) -> list[int]:
    """The passage numbers of one marker's inside: "1, 2" -> [1, 2]; "1-3" -> [1, 2, 3]."""
    numbers: list[int] = []
    for a, sep, b in re.findall(r"(\d+)(?:\s*(-|–)\s*(\d+))?", marker_body):
        if sep and b and 0 <= int(b) - int(a) <= 10:
            numbers.extend(range(int(a), int(b) + 1))
        else:
            numbers.append(int(a))
    return numbers


def parse_markers(sentence: str) -> tuple[str, tuple[int, ...]]:
    """Split a sentence into its text without markers and the passage numbers it cites."""
    cited: list[int] = []
    for match in MARKER.finditer(sentence):
        cited.extend(cited_numbers(match.group(1)))
    return strip_markers(sentence).strip(), tuple(dict.fromkeys(cited))


def strip_markers(text: str) -> str:
    """The text without its citation markers (so "[1]" never reads as the number 1)."""
    return MARKER.sub("", text)


def split_answer(text: str) -> list[str]:
    """Sentences of an answer, each keeping the markers that follow its full stop."""
    # Move markers placed after the full stop ("... aid. [1]") before it, so they stay
    # with their sentence when it is split.
    text = _MARKERS_AFTER_STOP.sub(r"\2\1", text.strip())
    return [text[s.start:s.end] for s in split_sentences(text)]


def cited_sentences(text: str) -> list[tuple[str, tuple[int, ...]]]:
    """Each sentence of an answer without its markers, with the passage numbers it cites."""
    return [parse_markers(sentence) for sentence in split_answer(text)]
