"""Small documents of every supported format, made by the tests themselves (nothing downloaded).

Each maker writes a file with the libraries the loaders read it with, or by hand where a
library cannot write the format (a PDF text layer, an image-only "scanned" PDF via Pillow).
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from email.message import EmailMessage
from pathlib import Path
from typing import Sequence

import docx
import openpyxl
from PIL import Image, ImageDraw, ImageFont
from pypdf import PdfWriter
from pypdf.generic import ContentStream, DecodedStreamObject, DictionaryObject, NameObject

HTML_ARTICLE = """<!DOCTYPE html>
<html><head><title>Harbour of Port Ellery reopens | Coastal Times</title>
<meta name="author" content="Jane Doe">
<meta property="article:published_time" content="2024-03-05">
<link rel="canonical" href="https://coastal.example/harbour-reopens">
</head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/sport">Sport</a></li>
<li><a href="/weather">Weather</a></li><li><a href="/subscribe">Subscribe to our newsletter</a></li></ul></nav>
<div class="ad banner">BUY CHEAP WATCHES NOW! Limited offer, click here.</div>
<article>
<h1>Harbour of Port Ellery reopens</h1>
<p>The old harbour of Port Ellery reopened on Monday after eighteen months of repairs costing
12 million euros.</p>
<p>Mayor Lena Brandt said the new sea wall will protect the fishing fleet from winter storms.</p>
<p>The first ship to dock was the ferry Aurora, which carried 240 passengers from the islands.</p>
<p>Fishermen had used the neighbouring port of Kessel while the works went on.</p>
</article>
<aside class="advertisement">Advertisement: Win a cruise to the Canary Islands!</aside>
<footer>Copyright 2024 Coastal Times. All rights reserved.</footer>
</body></html>
"""


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A TrueType font when the machine has one (fc-list), else Pillow's scalable default."""
    if shutil.which("fc-match"):
        found = subprocess.run(["fc-match", "-f", "%{file}", "DejaVu Sans:style=Book"],
                               capture_output=True, text=True, check=False).stdout.strip()
        if found.endswith((".ttf", ".otf")) and Path(found).exists():
            return ImageFont.truetype(found, size)
    return ImageFont.load_default(size)


def scanned_page(lines: Sequence[str], width: int = 1700, height: int = 700) -> Image.Image:
    """A white page with black text, like a 200 dpi scan: what Tesseract reads."""
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    face = font(40)
    for n, line in enumerate(lines):
        draw.text((80, 80 + n * 70), line, fill="black", font=face)
    return image


def write_png(path: Path, lines: Sequence[str]) -> Path:
    scanned_page(lines).save(path, "PNG")
    return path


def scanned_pdf_bytes(pages: Sequence[Sequence[str]]) -> bytes:
    """An image-only PDF (no text layer), one scanned page per entry, through Pillow."""
    images = [scanned_page(lines) for lines in pages]
    buffer = io.BytesIO()
    images[0].save(buffer, "PDF", resolution=200.0, save_all=True, append_images=images[1:])
    return buffer.getvalue()


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def text_pdf_writer(pages: Sequence[Sequence[str]], title: str | None = None) -> PdfWriter:
    """A PDF with a real text layer, one page per entry, in Helvetica (no font file needed)."""
    writer = PdfWriter()
    for lines in pages:
        page = writer.add_blank_page(width=612, height=792)
        ops = ["BT", "/F1 12 Tf", "14 TL", "72 720 Td"] + [f"({_escape(line)}) Tj T*" for line in lines] + ["ET"]
        stream = DecodedStreamObject()
        stream.set_data("\n".join(ops).encode("latin-1"))
        face = DictionaryObject({NameObject("/Type"): NameObject("/Font"),
                                      NameObject("/Subtype"): NameObject("/Type1"),
                                      NameObject("/BaseFont"): NameObject("/Helvetica")})
        page[NameObject("/Resources")] = DictionaryObject({
            NameObject("/Font"): DictionaryObject({NameObject("/F1"): face})})
        page.replace_contents(ContentStream(stream, writer))
    if title:
        writer.add_metadata({"/Title": title, "/Author": "Port Authority"})
    return writer


def pdf_bytes(writer: PdfWriter) -> bytes:
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def text_pdf_bytes(pages: Sequence[Sequence[str]], title: str | None = None) -> bytes:
    return pdf_bytes(text_pdf_writer(pages, title))


def encrypted_pdf_bytes() -> bytes:
    writer = text_pdf_writer([["A secret report about the harbour budget."]])
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-128")
    return pdf_bytes(writer)


def mixed_pdf_bytes(text_pages: Sequence[Sequence[str]], scanned_pages: Sequence[Sequence[str]]) -> bytes:
    """Text pages first, then scanned (image-only) pages, in one PDF."""
    writer = text_pdf_writer(text_pages, title="Harbour works report")
    writer.append(io.BytesIO(scanned_pdf_bytes(scanned_pages)))
    return pdf_bytes(writer)


def docx_bytes() -> bytes:
    document = docx.Document()
    document.core_properties.author = "Lena Brandt"
    document.add_heading("Town council minutes", level=1)
    document.add_paragraph("The council met on 4 March to discuss the new library on Quay Street.")
    document.add_paragraph("Councillor Ortiz proposed that the library open on Sundays from noon to five.")
    table = document.add_table(rows=3, cols=3)
    for row, values in zip(table.rows, [("Project", "Budget", "Lead"),
                                        ("Library", "2.4 million euros", "Ortiz"),
                                        ("Bike lanes", "800,000 euros", "Brandt")]):
        for cell, value in zip(row.cells, values):
            cell.text = value
    document.add_paragraph("The minutes were approved unanimously.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def xlsx_bytes() -> bytes:
    workbook = openpyxl.Workbook()
    sales = workbook.active
    sales.title = "Sales 2023"
    sales.append(["Region", "Quarter", "Units sold", "Manager"])
    sales.append(["North", "Q1", 1200, "Ana Silva"])
    sales.append(["South", "Q1", 950, "Tom Becker"])
    sales.append(["West", "Q2", 4321, "Priya Nair"])
    staff = workbook.create_sheet("Staff")
    staff.append(["Name", "Role", "Office"])
    staff.append(["Priya Nair", "Regional manager", "Bristol"])
    workbook.properties.creator = "Finance team"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_text() -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["Station", "Date", "Rainfall (mm)", "Notes"])
    writer.writerow(["Kessel", "2024-01-10", "12", ""])
    writer.writerow(["Port Ellery", "2024-01-10", "87", "flooding on the quay, road closed"])
    writer.writerow(["Aurora Point", "2024-01-11", "3", "dry"])
    return buffer.getvalue()


def eml_bytes(attachment_name: str = "budget.docx", attachment: bytes | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = "Lena Brandt <lena@ellery.example>"
    message["To"] = "council@ellery.example"
    message["Subject"] = "Ferry timetable change"
    message["Date"] = "Tue, 05 Mar 2024 09:30:00 +0100"
    message.set_content("Dear colleagues,\n\nFrom 1 April the ferry Aurora will leave Port Ellery at 7:45 "
                        "instead of 8:15, to connect with the early train.\n\nBest regards,\nLena\n")
    if attachment is None:
        attachment = docx_bytes()
    message.add_attachment(attachment, maintype="application", subtype="octet-stream", filename=attachment_name)
    return message.as_bytes()
