"""Content words of a text, for keyword scoring: lower-cased, stop words out, lightly stemmed."""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9][a-z0-9$%._/-]*[a-z0-9%]|[a-z0-9]")
_STOP_WORDS = (
    "a an the and or of to in on for with by at from as is are was were be been being it its this that these "
    "those do does did can could should would will shall may might must i we you they he she our your my "
    "their what which who whom whose when where why how there here if then than so not no yes about into "
    "over under after before up down out any all some each every get got have has had me us them just "
    "also only very more most much many such same other own"
)
_STOP = frozenset(_STOP_WORDS.split())


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def terms(text: str) -> list[str]:
    """Content words, lower-cased and lightly stemmed."""
    return [_stem(w.strip("._/-")) for w in _WORD.findall(text.lower()) if w not in _STOP]
