"""Every supported format, from a fixture the test makes, through loading, ingestion and a cited answer."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from rag.assistant import Assistant
from rag.config import Settings
from rag.errors import LoadError
from rag.ingestion import Ingestor
from rag.loading import LOADERS, load_file
from rag.wiring import open_store

from . import documents as make
from .conftest import make_settings

PDF_PAGES = [["Harbour works report", "The harbour works began in March 2022."],
             ["The contractor chosen for the harbour works was Nordbau of Hamburg."]]
SCANNED_PAGES = [["The inspection in May found deep cracks", "in the northern pier of the harbour."]]
ATTACHMENT_PAGES = [["From June the ferry timetable adds a Sunday evening crossing at 18:30."]]


def write_fixtures(folder: Path) -> dict[str, Path]:
    """One file of each format in ``folder``; returns them by a short name."""
    files = {
        "pdf": folder / "harbour-report.pdf",
        "docx": folder / "council-minutes.docx",
        "xlsx": folder / "sales.xlsx",
        "csv": folder / "rainfall.csv",
        "eml": folder / "ferry.eml",
        "html": folder / "harbour-article.html",
        "png": folder / "notice.png",
    }
    files["pdf"].write_bytes(make.mixed_pdf_bytes(PDF_PAGES, SCANNED_PAGES))
    files["docx"].write_bytes(make.docx_bytes())
    files["xlsx"].write_bytes(make.xlsx_bytes())
    files["csv"].write_text(make.csv_text(), encoding="utf-8")
    files["eml"].write_bytes(make.eml_bytes("timetable.pdf", make.text_pdf_bytes(ATTACHMENT_PAGES)))
    files["html"].write_text(make.HTML_ARTICLE, encoding="utf-8")
    make.write_png(files["png"], ["Notice to residents", "The water supply will be cut", "on Friday between 9 and 11."])
    return files


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, embeddings) -> tuple[Settings, dict[str, Path]]:  # type: ignore[no-untyped-def]
    """All formats ingested once into one store (OCR and embedding are the slow parts)."""
    folder = tmp_path_factory.mktemp("formats")
    files = write_fixtures(folder)
    settings = make_settings(tmp_path_factory.mktemp("formats-data"))
    report = Ingestor(open_store(settings, embeddings), embeddings, settings).sync_folder(folder)
    assert report.failed == [] and report.documents == len(files) + 1  # + the e-mail's attachment
    return settings, files


@pytest.fixture(scope="module")
def assistant(corpus: tuple[Settings, dict[str, Path]]) -> Assistant:
    return Assistant.from_settings(corpus[0])


@pytest.mark.parametrize("question, fixture, attachment, page, evidence", [
    ("Who was the contractor chosen for the harbour works?", "pdf", False, 2, "Nordbau"),
    ("What did the inspection in May find in the northern pier?", "pdf", False, 3, "cracks"),
    ("On which days should the library open, according to Councillor Ortiz?", "docx", False, None, "Sundays"),
    ("What is the budget of the bike lanes project?", "docx", False, None, "800,000"),
    ("How many units did the West region sell?", "xlsx", False, None, "4321"),
    ("How much rainfall was measured at Port Ellery?", "csv", False, None, "87"),
    ("When will the ferry Aurora leave Port Ellery from 1 April?", "eml", False, None, "7:45"),
    ("When is the new Sunday evening ferry crossing?", "eml", True, 1, "18:30"),
    ("How many passengers did the ferry Aurora carry when the harbour reopened?", "html", False, None, "240"),
    ("When will the water supply be cut?", "png", False, None, "Friday"),
])
def test_question_about_each_format_is_cited_from_its_document(
        assistant: Assistant, corpus: tuple[Settings, dict[str, Path]], question: str, fixture: str,
        attachment: bool, page: int | None, evidence: str) -> None:
    path = corpus[1][fixture].resolve()
    answer = assistant.ask(question)
    assert not answer.abstained, answer.text
    # The extractive answer quotes up to three sentences; the one holding the answer must be cited.
    citation = next((c for c in answer.citations if evidence in c.quote), None)
    assert citation is not None, answer.text
    stored = assistant.store.get_document(citation.doc_id)
    assert stored is not None and stored.metadata["path"] == str(path)
    assert ("parent_id" in stored.metadata) is attachment
    assert stored.text is not None and stored.text[citation.start:citation.end] == citation.quote
    assert citation.page == page


def test_every_format_has_a_loader() -> None:
    for suffix in (".txt", ".md", ".html", ".htm", ".pdf", ".docx", ".xlsx", ".csv", ".eml",
                   ".png", ".jpg", ".jpeg", ".tif", ".tiff"):
        assert suffix in LOADERS


def test_html_keeps_the_article_and_its_metadata_not_navigation_or_ads(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(make.HTML_ARTICLE, encoding="utf-8")
    [document] = load_file(path)
    assert "ferry Aurora, which carried 240 passengers" in document.text
    for noise in ("BUY CHEAP WATCHES", "Subscribe to our newsletter", "Win a cruise", "All rights reserved"):
        assert noise not in document.text
    assert document.title == "Harbour of Port Ellery reopens"
    assert document.source == "https://coastal.example/harbour-reopens"
    assert {k: document.metadata[k] for k in ("author", "date", "url")} == {
        "author": "Jane Doe", "date": "2024-03-05", "url": "https://coastal.example/harbour-reopens"}


def test_pdf_pages_start_where_their_text_starts(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(make.mixed_pdf_bytes(PDF_PAGES, SCANNED_PAGES))
    [document] = load_file(path)
    assert len(document.page_starts) == 3 and document.metadata["ocr_pages"] == 1
    assert document.title == "Harbour works report" and document.metadata["author"] == "Port Authority"
    for number, lines in enumerate(PDF_PAGES, start=1):
        start = document.text.index(lines[-1])
        assert document.page_at(start) == number
    assert document.page_at(document.text.index("cracks")) == 3  # the scanned page, read by OCR


def test_image_only_pdf_is_read_by_ocr(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(make.scanned_pdf_bytes([["First scanned page about tides."], ["Second page about storms."]]))
    [document] = load_file(path)
    assert document.page_starts[0] == 0 and len(document.page_starts) == 2
    assert document.page_at(document.text.index("storms")) == 2 and "tides" in document.text


def test_multi_page_tiff_has_a_page_per_frame(tmp_path: Path) -> None:
    frames = [make.scanned_page(["Frame one mentions lighthouses."]), make.scanned_page(["Frame two mentions buoys."])]
    path = tmp_path / "fax.tiff"
    frames[0].save(path, "TIFF", save_all=True, append_images=frames[1:])
    [document] = load_file(path)
    assert document.page_at(document.text.index("buoys")) == 2 and document.metadata["ocr"] is True


def test_jpeg_photo_of_text(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    make.scanned_page(["Closed for repairs until Thursday."]).save(path, "JPEG", quality=90)
    [document] = load_file(path)
    assert "Thursday" in document.text


def test_spreadsheet_rows_keep_their_headers_and_sheet_names(tmp_path: Path) -> None:
    path = tmp_path / "sales.xlsx"
    path.write_bytes(make.xlsx_bytes())
    [document] = load_file(path)
    assert "Sheet: Sales 2023" in document.text and "Sheet: Staff" in document.text
    assert "Row 4: Region: West; Quarter: Q2; Units sold: 4321; Manager: Priya Nair." in document.text
    assert "Row 2: Name: Priya Nair; Role: Regional manager; Office: Bristol." in document.text
    assert document.metadata["author"] == "Finance team"


@pytest.mark.parametrize("content, line", [
    (make.csv_text(), "Row 3: Station: Port Ellery; Date: 2024-01-10; Rainfall (mm): 87; Notes: flooding on the quay, road closed."),
    ("name;city\nAda;Paris\n", "Row 2: name: Ada; city: Paris."),
    ("a\tb\n1\t\n", "Row 2: a: 1."),
    ("x,y\n1,2,3\n", "Row 2: x: 1; y: 2; Column C: 3."),  # a cell past the headers is kept
    ("only,headers\n", "Columns: only; headers."),
])
def test_csv_rows_read_with_their_headers(tmp_path: Path, content: str, line: str) -> None:
    path = tmp_path / "table.csv"
    path.write_text(content, encoding="utf-8")
    [document] = load_file(path)
    assert line in document.text.splitlines()


def test_docx_paragraphs_and_tables_in_reading_order(tmp_path: Path) -> None:
    path = tmp_path / "minutes.docx"
    path.write_bytes(make.docx_bytes())
    [document] = load_file(path)
    text = document.text
    assert document.title == "Town council minutes" and document.metadata["author"] == "Lena Brandt"
    assert text.index("Sundays") < text.index("Table 1, row 3: Project: Bike lanes; Budget: 800,000 euros") \
        < text.index("approved unanimously")


def test_email_headers_body_and_attachments(tmp_path: Path) -> None:
    path = tmp_path / "ferry.eml"
    path.write_bytes(make.eml_bytes("timetable.pdf", make.text_pdf_bytes(ATTACHMENT_PAGES)))
    message, attachment = load_file(path)
    assert message.title == "Ferry timetable change"
    assert message.metadata["author"] == "Lena Brandt <lena@ellery.example>"
    assert message.metadata["date"] == "2024-03-05" and message.metadata["attachments"] == "timetable.pdf"
    assert "leave Port Ellery at 7:45" in message.text and "Sunday evening" not in message.text
    assert attachment.metadata["parent_id"] == message.doc_id
    assert attachment.title == "timetable.pdf (attachment to Ferry timetable change)"
    assert attachment.page_starts == (0,) and "18:30" in attachment.text
    assert attachment.source.endswith("ferry.eml#attachment=timetable.pdf")


def test_html_only_email_keeps_every_word_of_its_body(tmp_path: Path) -> None:
    from email.message import EmailMessage
    message = EmailMessage()
    message["From"], message["Subject"] = "ops@ellery.example", "Pier closed"
    message.set_content("<html><head><style>p {color: red}</style></head><body><p>Hi Bob,</p>"
                        "<p>the pier is closed until <b>noon</b> on Friday.</p></body></html>", subtype="html")
    path = tmp_path / "html.eml"
    path.write_bytes(message.as_bytes())
    [document] = load_file(path)
    assert "the pier is closed until noon on Friday." in document.text and "color" not in document.text


def test_bad_attachment_is_skipped_and_the_email_kept(tmp_path: Path) -> None:
    path = tmp_path / "mail.eml"
    path.write_bytes(make.eml_bytes("broken.pdf", b"%PDF-1.4 this is not really a pdf"))
    [message] = load_file(path)
    assert "7:45" in message.text and message.metadata["attachments"] == "broken.pdf"


def _png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 40), "white").save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("name, data, reason", [
    ("garbage.pdf", bytes(range(256)) * 40, "not a readable PDF"),
    ("truncated.pdf", make.text_pdf_bytes([["Some text."]])[:300], "not a readable PDF"),
    ("locked.pdf", make.encrypted_pdf_bytes(), "encrypted"),
    ("blank.pdf", make.text_pdf_bytes([[]]), "no text"),
    ("garbage.docx", b"PK\x03\x04" + bytes(range(256)) * 8, "not a readable .docx"),
    ("text.docx", b"just some text, not a zip", "not a readable .docx"),
    ("garbage.xlsx", bytes(range(256)) * 8, "not a readable .xlsx"),
    ("empty.csv", b"", "no rows"),
    ("binary.csv", bytes(range(256)) * 40, "binary"),
    ("garbage.html", bytes(range(256)) * 40, "binary"),
    ("nothing.html", b"<html><head><title>Empty</title></head><body><img src='a.png'></body></html>", "no article text"),
    ("not-mail.eml", b"\x00\x01binary", "no e-mail headers"),
    ("garbage.png", bytes(range(256)) * 40, "not a readable image"),
    ("blank.png", _png_bytes(), "no text"),
])
def test_corrupt_files_are_reported_with_the_reason(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(LoadError) as error:
        load_file(path)
    assert error.value.path == str(path) and reason in error.value.reason


def test_sync_handles_every_format_and_removes_an_email_with_its_attachments(
        tmp_path: Path, embeddings) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "docs"
    folder.mkdir()
    files = write_fixtures(folder)
    settings = make_settings(tmp_path / "data")
    ingestor = Ingestor(open_store(settings, embeddings), embeddings, settings)
    first = ingestor.sync_folder(folder)
    assert first.failed == [] and first.documents == 8
    again = ingestor.sync_folder(folder)
    assert (again.added, again.removed, again.unchanged_documents) == (0, 0, 8)

    files["eml"].unlink()
    files["csv"].unlink()
    report = ingestor.sync_folder(folder)
    assert len(report.removed_documents) == 3  # the e-mail, its attachment, the CSV
    stored = ingestor.store.list_documents()
    assert len(stored) == 5 and not any("parent_id" in d.metadata for d in stored)
    remaining = {c.doc_id for c in ingestor.store.iter_chunks()}
    assert remaining == {d.doc_id for d in stored}


def test_remove_email_by_id_or_path_takes_its_attachments(tmp_path: Path, embeddings) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "ferry.eml"
    path.write_bytes(make.eml_bytes("timetable.pdf", make.text_pdf_bytes(ATTACHMENT_PAGES)))
    settings = make_settings(tmp_path / "data")
    ingestor = Ingestor(open_store(settings, embeddings), embeddings, settings)
    ingestor.ingest_paths([path])
    message_id = next(d.doc_id for d in ingestor.store.list_documents() if "parent_id" not in d.metadata)
    assert ingestor.remove(message_id) > 0
    assert ingestor.store.list_documents() == [] and ingestor.store.count_chunks() == 0
    ingestor.ingest_paths([path])
    assert ingestor.remove(str(path)) > 0 and ingestor.store.list_documents() == []


def test_email_that_loses_an_attachment_loses_its_document_on_sync(tmp_path: Path, embeddings) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "docs"
    folder.mkdir()
    path = folder / "ferry.eml"
    path.write_bytes(make.eml_bytes("timetable.pdf", make.text_pdf_bytes(ATTACHMENT_PAGES)))
    settings = make_settings(tmp_path / "data")
    ingestor = Ingestor(open_store(settings, embeddings), embeddings, settings)
    assert ingestor.sync_folder(folder).documents == 2
    path.write_bytes(make.eml_bytes("notes.zip", b"PK not a loader's format"))
    report = ingestor.sync_folder(folder)
    assert len(report.removed_documents) == 1
    [message] = ingestor.store.list_documents()
    assert message.metadata["attachments"] == "notes.zip"


def test_cli_sync_list_and_remove_with_every_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from rag.cli import main
    folder = tmp_path / "docs"
    folder.mkdir()
    files = write_fixtures(folder)
    data = ["--data-dir", str(tmp_path / "data")]
    assert main(["sync", str(folder), *data]) == 0
    assert "8 documents" in capsys.readouterr().out
    assert main(["list", "--json", *data]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(d["format"] for d in listed) == ["csv", "docx", "email", "html", "image", "pdf", "pdf", "xlsx"]
    [attachment] = [d for d in listed if "parent_id" in d]
    assert attachment["path"] == str(files["eml"].resolve())

    assert main(["remove", str(files["eml"]), *data]) == 0  # the e-mail by its path: its attachment goes too
    capsys.readouterr()
    assert main(["list", "--json", *data]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 6
