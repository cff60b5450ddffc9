"""PDF files through pypdf: the text layer page by page; pages without one are OCR'd.

Each page's start offset goes into ``page_starts``, so a citation names its page.
"""

from __future__ import annotations

import io
import logging
import time
from pathlib import Path

from pypdf import PageObject, PasswordType, PdfReader
from pypdf.errors import DependencyError, PyPdfError

from ..errors import LoadError
from ..types import Scalar, SourceDocument
from .common import default_doc_id, file_source, iso_date, join_pages
from .ocr import ocr_image

log = logging.getLogger(__name__)

MAX_PAGES = 2000
# OCR of one scanned page, all its images together; a page with more images is read in part.
OCR_PAGE_S = 120.0
MAX_IMAGES_PER_PAGE = 20


def load_pdf(path: Path, data: bytes) -> list[SourceDocument]:
    """Load a PDF as one document with one page start per page."""
    reader = _open(path, data)
    if len(reader.pages) > MAX_PAGES:
        raise LoadError(str(path), f"the PDF has {len(reader.pages):,} pages; the limit is {MAX_PAGES:,}: "
                                   "split it into smaller files")
    pages: list[str] = []
    scanned = 0
    for number, page in enumerate(reader.pages, start=1):
        text = _page_text(page, f"{path} page {number}")
        if not text.strip():
            text = _ocr_page(page, path, number)
            scanned += bool(text.strip())
        pages.append(text)
    text, starts = join_pages(pages)
    if not text.strip():
        raise LoadError(str(path), "the PDF holds no text, and OCR found none in its images")
    info = _info(reader)
    metadata: dict[str, Scalar] = {"format": "pdf", "pages": len(pages)}
    metadata.update({k: v for k, v in info.items() if k != "title" and v})
    if scanned:
        metadata["ocr_pages"] = scanned
    first_line = next(line.strip() for line in text.splitlines() if line.strip())
    title = info.get("title") or (first_line if len(first_line) <= 120 else path.stem)
    return [SourceDocument(doc_id=default_doc_id(path), title=str(title), source=file_source(path),
                           text=text, metadata=metadata, page_starts=starts)]


def _open(path: Path, data: bytes) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise LoadError(str(path), "the PDF is encrypted with a password; ingest an unprotected copy")
        len(reader.pages)  # the page tree is where a truncated file usually breaks
    except DependencyError as error:
        raise LoadError(str(path), f"the PDF is encrypted with a cipher pypdf cannot open here ({error})") from error
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
        raise LoadError(str(path), f"not a readable PDF ({type(error).__name__}: {error})") from error
    return reader


def _page_text(page: PageObject, name: str) -> str:
    try:
        return page.extract_text() or ""
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
        # One broken page must not cost the rest of the document; it is OCR'd instead.
        log.warning("%s: cannot read the text layer (%s)", name, error)
        return ""


def _ocr_page(page: PageObject, path: Path, number: int) -> str:
    """OCR the images of a page that has no text layer (a scan)."""
    texts = []
    try:
        images = list(page.images)
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as error:
        log.warning("%s page %d: cannot read its images (%s)", path, number, error)
        return ""
    deadline = time.monotonic() + OCR_PAGE_S
    for image in images[:MAX_IMAGES_PER_PAGE]:
        left = deadline - time.monotonic()
        if left <= 1:
            log.warning("%s page %d: OCR stopped after %.0f s", path, number, OCR_PAGE_S)
            break
        try:
            picture = image.image
        except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as error:
            log.warning("%s page %d: cannot decode image %s (%s)", path, number, image.name, error)
            continue
        if picture is not None:
            texts.append(ocr_image(picture, f"{path} page {number}", timeout_s=left))
    return "\n\n".join(t for t in texts if t.strip())


def _info(reader: PdfReader) -> dict[str, Scalar]:
    """Title, author and date from the document information, when they are readable."""
    try:
        meta = reader.metadata
        if meta is None:
            return {}
        fields: dict[str, Scalar] = {}
        if meta.title and meta.title.strip():
            fields["title"] = " ".join(meta.title.split())
        if meta.author and meta.author.strip():
            fields["author"] = " ".join(meta.author.split())
        if day := iso_date(meta.creation_date):
            fields["date"] = day
        return fields
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as error:
        log.debug("unreadable PDF metadata: %s", error)  # metadata is optional: the text is what counts
        return {}
