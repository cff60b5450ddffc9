"""E-mail messages (.eml) through the standard ``email`` package.

The message is one document: its headers (From, To, Cc, Date, Subject) then its body, so that
"who wrote about X?" can be answered with a citation too. Each attachment in a supported format
becomes a document of its own, with ``parent_id`` set to the message's id; removing the message
removes its attachments.
"""

from __future__ import annotations

import dataclasses
import logging
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path, PurePath
from urllib.parse import quote

import trafilatura

from ..errors import LoadError
from ..types import Scalar, SourceDocument
from .cleaning import clean_text
from .common import default_doc_id, file_source, iso_date, slugify

log = logging.getLogger(__name__)

_SHOWN_HEADERS = ("From", "To", "Cc", "Date", "Subject")


def load_email(path: Path, data: bytes) -> list[SourceDocument]:
    """Load a message and its readable attachments."""
    try:
        message = BytesParser(policy=policy.default).parsebytes(data)
        headers = {name: _header(message, name) for name in _SHOWN_HEADERS}
    except (ValueError, TypeError, IndexError, LookupError) as error:
        raise LoadError(str(path), f"not a readable e-mail ({type(error).__name__}: {error})") from error
    if not any(headers.values()):
        raise LoadError(str(path), "no e-mail headers found (is this an .eml file?)")
    doc_id, subject = default_doc_id(path), headers["Subject"] or "(no subject)"
    body = _body_text(message, str(path))
    header_block = "\n".join(f"{name}: {value}" for name, value in headers.items() if value)
    attachments = _attachments(message, path, doc_id, subject)
    metadata: dict[str, Scalar] = {"format": "email"}
    if headers["From"]:
        metadata["author"] = headers["From"]
    if headers["To"]:
        metadata["to"] = headers["To"]
    if day := _date(headers["Date"]):
        metadata["date"] = day
    if names := [n for part in message.iter_attachments() if (n := part.get_filename())]:
        metadata["attachments"] = ", ".join(names)
    email_document = SourceDocument(doc_id=doc_id, title=subject, source=file_source(path),
                                     text=clean_text(f"{header_block}\n\n{body}"), metadata=metadata)
    return [email_document] + attachments


def _header(message: EmailMessage, name: str) -> str:
    value = message.get(name)
    return " ".join(str(value).split()) if value is not None else ""


def _date(value: str) -> str | None:
    try:
        return iso_date(parsedate_to_datetime(value)) if value else None
    except (TypeError, ValueError, IndexError):
        return None  # a malformed Date header: the message is still worth reading


def _body_text(message: EmailMessage, name: str) -> str:
    """The plain-text body, else the HTML body's main text; empty when there is neither."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError) as error:  # unknown charset, broken encoding
        payload = part.get_payload(decode=True) or b""
        log.warning("%s: body in a broken encoding (%s); decoded leniently", name, error)
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else str(payload)
    if part.get_content_type() == "text/html":
        # All of a mail's text is its content (no menus or ads to drop, unlike a web page), so
        # every word is kept rather than trafilatura's guess at a main article.
        return str(trafilatura.html2txt(content))
    return str(content)


def _attachments(message: EmailMessage, path: Path, parent_id: str, subject: str) -> list[SourceDocument]:
    """Each attachment whose type has a loader, as a document linked to the message."""
    from . import LOADERS  # the registry imports this module; importing it at the top would be circular
    documents: list[SourceDocument] = []
    for number, part in enumerate(message.iter_attachments(), start=1):
        name = part.get_filename() or ""
        loader = LOADERS.get(PurePath(name).suffix.lower()) if name else None
        if loader is None:
            continue
        label = f"{path} attachment '{name}'"
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes) or not payload:
            log.warning("skipped %s: it is empty", label)
            continue
        try:
            loaded = loader(Path(PurePath(name).name), payload)
        except LoadError as error:
            # The message is still worth having: report the attachment and go on.
            log.warning("skipped %s: %s", label, error.reason)
            continue
        except Exception as error:  # a parser library failing on a corrupt attachment
            log.warning("skipped %s: cannot parse it (%s: %s)", label, type(error).__name__, error)
            continue
        for index, document in enumerate(loaded):
            suffix = f"-{index}" if index else ""
            documents.append(dataclasses.replace(
                document,
                doc_id=f"{parent_id}-att{number}-{slugify(PurePath(name).stem, 30)}{suffix}",
                title=f"{name} (attachment to {subject})",
                source=f"{file_source(path)}#attachment={quote(name)}",
                metadata={**document.metadata, "parent_id": parent_id, "attachment": name}))
    return documents

