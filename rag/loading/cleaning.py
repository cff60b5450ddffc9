"""Turning raw bytes into clean text, without moving the characters a quote must match."""

from __future__ import annotations

import codecs
import re
import unicodedata

from charset_normalizer import from_bytes

# Control characters other than tab and newline carry no text and break JSON and terminals.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u200e\u200f\u2028\u2029\ufeff]")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")
_MANY_BLANK_LINES = re.compile(r"\n{4,}")
# UTF-32 first: its little-endian mark begins with UTF-16's.
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
         (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def decode_text(data: bytes) -> str | None:
    """Decode bytes as UTF-8, else as the most likely charset; None when they are not text."""
    # A byte-order mark names the encoding outright (Windows saves "Unicode" text as UTF-16).
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(codec)
            except UnicodeDecodeError:
                return None
    if b"\x00" in data[:8192]:
        return None  # UTF-16/32 aside, a NUL byte means binary
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None:
        return None
    text = str(best)
    sample = text[:8192]
    # A "decoding" full of control characters is binary data that happened to decode.
    if sample and sum(ch < " " and ch not in "\n\r\t" for ch in sample) > len(sample) * 0.01:
        return None
    return text


def clean_text(text: str) -> str:
    """Normalise line ends and Unicode, drop control characters and trailing blanks.

    Words, punctuation and sentence order are never changed, so the cleaned text still
    reads exactly like the original and quotes from it are verbatim.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub("", text)
    text = _TRAILING_SPACE.sub("\n", text)
    text = _MANY_BLANK_LINES.sub("\n\n\n", text)
    return text.strip("\n")


def looks_binary(text: str) -> bool:
    """True when decoded text is mostly unprintable: binary data under a text name."""
    sample = text[:8192]
    if not sample:
        return False
    unprintable = sum(1 for ch in sample if unicodedata.category(ch) in ("Cc", "Co", "Cn") and ch not in "\n\t")
    return unprintable > len(sample) * 0.05 or "\ufffd" * 8 in sample
