"""The one way the app writes CSV: every cell goes through ``csv_cell``.

A spreadsheet opening the file runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and
some also after a leading tab or carriage return) as a formula, so a user's message such as
``=HYPERLINK(...)`` would run on an operator's machine. Such text cells get a leading single
quote (OWASP's CSV injection advice); numbers are written as numbers, a negative one included.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Protocol

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class _Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


def csv_cell(value: object) -> str:
    """One cell's text: empty for None, floats to six significant digits, text neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, int | Decimal):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_write(file: _Writable, *, headers: Iterable[object], rows: Iterable[Iterable[object]]) -> None:
    """Write a header row and the rows to ``file`` (an HttpResponse or any text file)."""
    writer = csv.writer(file)
    writer.writerow([csv_cell(h) for h in headers])
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
