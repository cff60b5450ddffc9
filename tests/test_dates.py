"""Front matter dates read as ISO days (rag/loading/dates.py), and what must stay as written."""

from __future__ import annotations

import logging
from datetime import date, datetime
from pathlib import Path

import pytest

from rag.chunking import chunk_document
from rag.loading import load_file
from rag.loading.dates import document_date, parse_day
from rag.retrieval import Filters

READ = [
    ("March 3, 2021", "2021-03-03"),
    ("3 March 2021", "2021-03-03"),
    ("Mar 3 2021", "2021-03-03"),
    ("Wednesday, March 3, 2021", "2021-03-03"),
    ("2021-03-03", "2021-03-03"),
    ("2021/03/03", "2021-03-03"),
    ("20210303", "2021-03-03"),
    ("2021-03-03T10:15:00Z", "2021-03-03"),
    ("2021-03-03 23:59:59+05:00", "2021-03-03"),   # the day as written, not moved to UTC
    ("13/04/2021", "2021-04-13"),                   # 13 can only be the day
    ("04/13/2021", "2021-04-13"),
    ("3.3.2021", "2021-03-03"),
    ("  March 3, 2021  ", "2021-03-03"),
]

NOT_READ = [
    "",
    "soon",
    "n/a",
    "March 2021",           # no day
    "2021",                 # a year only
    "March 3",              # no year
    "Tuesday",              # a weekday is no date
    "10:30",                # a time only
    "03/04/2021",           # March 4 or 3 April?
    "February 30, 2021",    # no such day
    "spring 2021",
    "March 3, 2021 or so",  # no guessing from a sentence
]


@pytest.mark.parametrize("text, day", READ)
def test_a_date_that_names_one_day_is_read_as_iso(text: str, day: str) -> None:
    assert parse_day(text) == day


@pytest.mark.parametrize("text", NOT_READ)
def test_a_date_that_names_no_single_day_is_not_read(text: str) -> None:
    assert parse_day(text) is None


@pytest.mark.parametrize("value, day", [(date(2021, 3, 3), "2021-03-03"), (datetime(2021, 3, 3, 10, 0), "2021-03-03"),
                                        ("March 3, 2021", "2021-03-03")])
def test_document_dates_from_yaml_values(value: object, day: str) -> None:
    assert document_date(value, "doc.md") == day


def test_an_unreadable_date_is_kept_as_written_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="rag.loading.dates"):
        assert document_date("spring 2021", "notes/doc.md") == "spring 2021"
    assert "notes/doc.md: date 'spring 2021'" in caplog.text and "--from/--to" in caplog.text


@pytest.mark.parametrize("written", ["March 3, 2021", "2021-03-03", "3 Mar 2021"])
def test_a_front_matter_date_falls_inside_a_date_filter(tmp_path: Path, written: str) -> None:
    path = tmp_path / "note.md"
    path.write_text(f"---\ntitle: Note\ndate: {written}\n---\nRussia sent aid to Cuba.\n", encoding="utf-8")
    [document] = load_file(path)
    assert document.metadata["date"] == "2021-03-03"
    [chunk] = chunk_document(document, 600, 100)
    assert chunk.metadata["date_num"] == 20210303
    assert Filters(date_from="2021-03-01", date_to="2021-03-31").accepts(chunk)
    assert not Filters(date_from="2021-04-01").accepts(chunk)
