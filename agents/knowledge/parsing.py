"""Text out of an uploaded document (Markdown, plain text, HTML, PDF), and its chunks.

A chunk is one sentence with the heading above it: the offline model answers with one to three
sentences, so retrieval ranks sentences; the heading (and the document's title) go into the text
that is embedded, so a sentence keeps the context its own words leave implicit.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from html.parser import HTMLParser

from agents.knowledge.terms import terms

FORMATS_BY_EXTENSION = {
    "md": "markdown",
    "markdown": "markdown",
    "txt": "text",
    "text": "text",
    "html": "html",
    "htm": "html",
    "pdf": "pdf",
}
# A sentence longer than this many words (a PDF table, a list without full stops) is cut into
# windows of it: MiniLM reads only its first 256 word pieces.
MAX_CHUNK_WORDS = 80

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“(])")


class DocumentUnreadable(ValueError):
    """The bytes are not a document of the format they claim; the message says why."""


@dataclass(frozen=True)
class Chunk:
    position: int
    paragraph: int
    sentence: int
    heading: str
    text: str
    terms: str

    def embedding_text(self, title: str) -> str:
        if self.heading and self.heading != title:
            return f"{title}: {self.heading}. {self.text}"
        return f"{title}. {self.text}"


def format_for_filename(filename: str) -> str | None:
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return FORMATS_BY_EXTENSION.get(extension)


def _decode(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentUnreadable(f"not UTF-8 text (byte {exc.start} is invalid)") from None


class _HtmlText(HTMLParser):
    """Headings as '# ' lines and block elements as paragraphs; scripts and styles dropped."""

    BLOCKS = frozenset(
        [
            "p",
            "div",
            "li",
            "tr",
            "br",
            "section",
            "article",
            "blockquote",
            "pre",
            "table",
            "ul",
            "ol",
            "dd",
            "dt",
        ]
    )
    HEADINGS = frozenset(["h1", "h2", "h3", "h4", "h5", "h6"])
    SKIPPED = frozenset(["script", "style", "noscript", "template", "head"])

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag == "title":
            self._in_title = True
        if tag in self.SKIPPED:
            self.skipping += 1
        elif tag in self.HEADINGS:
            self.parts.append("\n\n# ")
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in self.SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.HEADINGS or tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data.strip()
        if not self.skipping:
            self.parts.append(data.replace("\n", " "))


def _html_text(content: bytes) -> tuple[str, str]:
    parser = _HtmlText()
    parser.feed(_decode(content))
    parser.close()
    return parser.title, "".join(parser.parts)


def _pdf_text(content: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(content), strict=False)
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise DocumentUnreadable(f"not a readable PDF ({exc})") from None
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        raise DocumentUnreadable("the PDF has no text layer (a scan?): nothing to index")
    return text


def document_text(content: bytes, fmt: str) -> tuple[str, str]:
    """(title found in the document or '', its text as Markdown-like paragraphs)."""
    if fmt == "pdf":
        return "", _pdf_text(content)
    if fmt == "html":
        return _html_text(content)
    text = _decode(content)
    if fmt == "markdown":
        first = text.lstrip().splitlines()[0] if text.strip() else ""
        if first.startswith("# "):
            return first[2:].strip(), text
    return "", text


def _windows(sentence: str) -> list[str]:
    words = sentence.split()
    return [" ".join(words[i : i + MAX_CHUNK_WORDS]) for i in range(0, len(words), MAX_CHUNK_WORDS)]


def chunks_of(body: str) -> list[Chunk]:
    """Sentences of the body's paragraphs, each under the nearest heading above it. Paragraphs
    are numbered without the headings (answers read a paragraph's next sentence as its detail)."""
    chunks: list[Chunk] = []
    heading = ""
    paragraph = 0
    for block in (b.strip() for b in re.split(r"\n\s*\n", body)):
        if not block:
            continue
        if block.startswith("#"):
            lines = block.splitlines()
            heading = lines[0].lstrip("#").strip()[:200]
            block = "\n".join(lines[1:]).strip()
            if not block:
                continue
        sentence_number = 0
        for sentence in _SENTENCE_END.split(" ".join(block.split())):
            for piece in _windows(sentence.strip()):
                chunks.append(
                    Chunk(len(chunks), paragraph, sentence_number, heading, piece, " ".join(terms(piece)))
                )
                sentence_number += 1
        paragraph += 1
    return chunks
