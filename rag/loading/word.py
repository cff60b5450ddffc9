"""Word documents (.docx) through python-docx: paragraphs and tables, in reading order."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Sequence

import docx
from docx.document import Document as DocxDocument
from docx.opc.exceptions import PackageNotFoundError
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from ..errors import LoadError
from ..types import Scalar, SourceDocument
from .cleaning import clean_text
from .common import check_zip, column_headers, default_doc_id, describe_row, file_source, iso_date


def load_docx(path: Path, data: bytes) -> list[SourceDocument]:
    """Load a .docx file: each paragraph a paragraph, each table row a line with its headers."""
    check_zip(path, data)
    try:
        document = docx.Document(io.BytesIO(data))
        blocks = _blocks(document)
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as error:
        raise LoadError(str(path), f"not a readable .docx file ({type(error).__name__}: {error})") from error
    text = clean_text("\n\n".join(b for b in blocks if b.strip()))
    if not text.strip():
        raise LoadError(str(path), "the document holds no text")
    props = document.core_properties
    metadata: dict[str, Scalar] = {"format": "docx"}
    if props.author:
        metadata["author"] = props.author
    if day := iso_date(props.created):
        metadata["date"] = day
    return [SourceDocument(doc_id=default_doc_id(path), title=props.title or _first_heading(document) or path.stem,
                           source=file_source(path), text=text, metadata=metadata)]


def _blocks(document: DocxDocument) -> list[str]:
    """The text of each paragraph and table of the body, in reading order."""
    blocks, tables = [], 0
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            blocks.append(block.text)
        elif isinstance(block, Table):
            tables += 1
            blocks.append(_table_text(block, tables))
    return blocks


def _table_text(table: Table, number: int) -> str:
    """A table as one line per row, each with the first row's headers."""
    rows = [[_unique_cell_text(row.cells, i) for i in range(len(row.cells))] for row in table.rows]
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        return ""
    if len(rows) == 1:
        return " | ".join(rows[0])
    headers = column_headers(rows[0])
    lines = [describe_row(f"Table {number}, row {n}", headers, row) for n, row in enumerate(rows[1:], start=2)]
    return "\n\n".join(line for line in lines if line)


def _unique_cell_text(cells: Sequence[_Cell], index: int) -> str:
    # python-docx repeats a merged cell once per grid column; keep its text once.
    cell = cells[index]
    if index and cells[index - 1]._tc is cell._tc:
        return ""
    return " ".join(cell.text.split())


def _first_heading(document: DocxDocument) -> str | None:
    for paragraph in document.paragraphs:
        style = (paragraph.style.name or "") if paragraph.style is not None else ""
        if (style == "Title" or style.startswith("Heading")) and paragraph.text.strip():
            return paragraph.text.strip()
    return None
