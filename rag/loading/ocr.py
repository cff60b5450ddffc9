"""Optical character recognition through Tesseract (Debian's ``tesseract-ocr``), for scans."""

from __future__ import annotations

import logging

import pytesseract
from PIL import Image

from ..errors import LoadError

log = logging.getLogger(__name__)

# Tesseract's language packs to use; Debian's tesseract-ocr ships English.
LANGUAGES = "eng"
# One page of a scan takes a second or two; a minute means Tesseract is stuck on a huge image.
TIMEOUT_S = 120
INSTALL_HINT = "OCR needs Tesseract: install Debian's tesseract-ocr (scripts/install-system-packages.sh does)"


def ocr_image(image: Image.Image, name: str, timeout_s: float = TIMEOUT_S) -> str:
    """The text Tesseract reads in ``image`` within ``timeout_s``; LoadError naming ``name`` when
    it cannot run or runs out of time."""
    try:
        return str(pytesseract.image_to_string(_flatten(image), lang=LANGUAGES, timeout=max(1, int(timeout_s))))
    except pytesseract.TesseractNotFoundError as error:
        raise LoadError(name, INSTALL_HINT) from error
    except pytesseract.TesseractError as error:
        raise LoadError(name, f"Tesseract could not read the image: {error.message}") from error
    except RuntimeError as error:  # pytesseract's timeout
        raise LoadError(name, f"OCR gave up after {timeout_s:.0f} s: {error}") from error


def _flatten(image: Image.Image) -> Image.Image:
    # A transparent background would reach Tesseract as black: lay the image on white first.
    if image.mode in ("RGBA", "LA", "P", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode not in ("RGB", "L", "1"):
        return image.convert("RGB")
    return image
