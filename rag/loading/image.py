"""Images of text (scans, photos of pages, screenshots): read through Tesseract OCR.

A multi-page TIFF is one document with one page per frame.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageSequence, UnidentifiedImageError

from ..errors import LoadError
from ..types import SourceDocument
from .common import default_doc_id, file_source, join_pages
from .ocr import ocr_image


def load_image(path: Path, data: bytes) -> list[SourceDocument]:
    """OCR every frame of an image file into one document."""
    try:
        image = Image.open(io.BytesIO(data))
        frames = [frame.copy() for frame in ImageSequence.Iterator(image)]
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise LoadError(str(path), f"not a readable image ({error})") from error
    except Image.DecompressionBombError as error:
        raise LoadError(str(path), f"image too large to read safely ({error})") from error
    text, starts = join_pages([ocr_image(frame, str(path)) for frame in frames])
    if not text.strip():
        raise LoadError(str(path), "OCR found no text in the image (is it a scan of a page?)")
    first_line = next(line.strip() for line in text.splitlines() if line.strip())
    return [SourceDocument(
        doc_id=default_doc_id(path),
        title=first_line if len(first_line) <= 120 else path.stem,
        source=file_source(path), text=text,
        metadata={"format": "image", "ocr": True},
        # A single picture has no pages to cite; the frames of a TIFF do.
        page_starts=starts if len(starts) > 1 else ())]
