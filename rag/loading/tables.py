"""Spreadsheets (.xlsx through openpyxl) and .csv files (through the standard csv module).

A table is only readable with its headers, so each row becomes one line that names them:
``Row 3: Region: North; Sales: 120.``. A workbook's sheets are sections headed by their names.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import Iterable, Sequence

import openpyxl
from openpyxl.utils.exceptions import InvalidFileException

from ..errors import LoadError
from ..types import Scalar, SourceDocument
from .cleaning import clean_text, decode_text, looks_binary
from .common import check_zip, column_headers, default_doc_id, describe_row, file_source, iso_date

# Delimiters the sniffer may choose from; anything else is read as a comma-separated file.
_DELIMITERS = ",;\t|"


def load_xlsx(path: Path, data: bytes) -> list[SourceDocument]:
    """Load a workbook as one document: a section per sheet, a line per row."""
    check_zip(path, data)
    try:
        # read_only streams rows instead of building every cell; data_only gives formulas' values.
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sections = [_section(f"Sheet: {sheet.title}", sheet.iter_rows(values_only=True), first_row=1)
                        for sheet in workbook.worksheets]
            props = workbook.properties
        finally:
            workbook.close()
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, TypeError) as error:
        raise LoadError(str(path), f"not a readable .xlsx workbook ({type(error).__name__}: {error})") from error
    text = clean_text("\n\n\n".join(s for s in sections if s))
    if not text:
        raise LoadError(str(path), "the workbook holds no rows")
    metadata: dict[str, Scalar] = {"format": "xlsx"}
    if props.creator:
        metadata["author"] = props.creator
    if day := iso_date(props.created):
        metadata["date"] = day
    return [SourceDocument(doc_id=default_doc_id(path), title=props.title or path.stem, source=file_source(path),
                           text=text, metadata=metadata)]


def load_csv(path: Path, data: bytes) -> list[SourceDocument]:
    """Load a CSV (or semicolon- or tab-separated) file: a line per row, with the header row's names."""
    raw = decode_text(data)
    if raw is None or looks_binary(raw):
        raise LoadError(str(path), "binary data, not text (is the file extension right?)")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(raw[:16384], delimiters=_DELIMITERS)
    except csv.Error:
        dialect = csv.excel  # one column, or too little text to tell
    try:
        rows = list(csv.reader(io.StringIO(raw, newline=""), dialect))
    except csv.Error as error:
        raise LoadError(str(path), f"not a readable CSV file ({error})") from error
    text = clean_text(_section("", rows, first_row=1))
    if not text:
        raise LoadError(str(path), "the file holds no rows")
    return [SourceDocument(doc_id=default_doc_id(path), title=path.stem, source=file_source(path), text=text,
                           metadata={"format": "csv"})]


def _section(heading: str, rows: Iterable[Sequence[object]], first_row: int) -> str:
    """Rows under a heading; the first non-empty row names the columns, the rest become lines."""
    headers: list[str] | None = None
    lines = [heading] if heading else []
    for number, row in enumerate(rows, start=first_row):
        if all(value is None or str(value).strip() == "" for value in row):
            continue
        if headers is None:
            headers = column_headers(row)
            continue
        if line := describe_row(f"Row {number}", headers, row):
            lines.append(line)
    if headers is not None and len(lines) == (1 if heading else 0):
        # A table of headers only still says something: keep them rather than lose them.
        lines.append("Columns: " + "; ".join(headers) + ".")
    return "\n\n".join(lines) if headers is not None else ""
