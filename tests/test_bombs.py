"""Parser bombs: what a .docx or .xlsx unpacks to is bounded before any parser opens it, and a
PDF's pages are capped (rag/loading/common.py ``check_zip``, rag/loading/pdf.py ``MAX_PAGES``)."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfWriter

from rag.errors import LoadError
from rag.loading import load_file
from rag.loading.common import MAX_ZIP_BYTES, MAX_ZIP_ENTRIES
from rag.loading.pdf import MAX_PAGES


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def inflating() -> bytes:
    """Under 4 MB on disk, over 512 MB once unpacked: one part of zeros, written in pieces."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("word/document.xml", "w", force_zip64=True) as part:
            block = b"\0" * (16 * 2**20)
            for _ in range(MAX_ZIP_BYTES // len(block) + 1):
                part.write(block)
    return buffer.getvalue()


@pytest.mark.parametrize("suffix", [".docx", ".xlsx"])
def test_a_zip_that_unpacks_too_far_is_refused_before_parsing(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"bomb{suffix}"
    path.write_bytes(inflating())
    assert path.stat().st_size < 4 * 2**20
    started = time.monotonic()
    with pytest.raises(LoadError, match=r"the file unpacks to 528 MB; the limit is 512 MB"):
        load_file(path)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("suffix", [".docx", ".xlsx"])
def test_a_zip_with_too_many_parts_is_refused(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"many{suffix}"
    path.write_bytes(zip_bytes({f"part{n}.xml": b"" for n in range(MAX_ZIP_ENTRIES + 1)}))
    with pytest.raises(LoadError, match=f"holds {MAX_ZIP_ENTRIES + 1:,} packed parts; the limit is"):
        load_file(path)


def test_a_pdf_over_the_page_limit_is_refused(tmp_path: Path) -> None:
    writer = PdfWriter()
    for _ in range(MAX_PAGES + 1):
        writer.add_blank_page(width=72, height=72)
    path = tmp_path / "pages.pdf"
    with open(path, "wb") as out:
        writer.write(out)
    with pytest.raises(LoadError, match=f"the PDF has {MAX_PAGES + 1:,} pages; the limit is {MAX_PAGES:,}"):
        load_file(path)
