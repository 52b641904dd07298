"""Reading messages for what they mean to the ladder: an agent that cannot resolve the
request, a user asking for a person, an urgent request, a stated confidence.

Plain patterns, so the same text always gives the same answer; the offline model's
"nothing in the knowledge base" answer is one of them.
"""

from __future__ import annotations

import re

from agents.routing import scope

CANNOT_RESOLVE = re.compile(
    r"don't have anything in this account's knowledge base"
    r"|\bwon't guess\b"
    r"|\bI (?:can ?not|can't|am unable to|'m unable to|am not able to|'m not able to) "
    r"(?:resolve|answer|help with|solve|find an answer|complete)"
    r"|\bI don't know\b"
    r"|\bI couldn't complete that\b",
    re.IGNORECASE,
)

# Shared with the router, which must not answer a request for a person as small talk.
ASKS_FOR_PERSON = scope.ASKS_FOR_PERSON

URGENT = re.compile(r"\b(?:urgent|asap|critical|outage|emergency|is down|production down)\b", re.IGNORECASE)

# "Confidence: 85%" or "confidence = 0.85" ending a line (a line of its own, or the answer's last words).
STATED_CONFIDENCE = re.compile(
    r"\bconfidence\s*[:=]\s*(\d{1,3}(?:\.\d+)?)\s*(%?)[\s.)]*$", re.IGNORECASE | re.M
)


def cannot_resolve(text: str) -> bool:
    return bool(CANNOT_RESOLVE.search(text or ""))


def asks_for_person(text: str) -> bool:
    return bool(ASKS_FOR_PERSON.search(text or ""))


def is_urgent(text: str) -> bool:
    return bool(URGENT.search(text or ""))


def stated_confidence(text: str) -> tuple[float | None, str]:
    """The confidence a model stated at the end of a line ("Confidence: 85%" or 0.85),
    and the answer without that line; (None, text) when it stated none."""
    matches = list(STATED_CONFIDENCE.finditer(text or ""))
    if not matches:
        return None, text
    last = matches[-1]
    value = float(last.group(1))
    if last.group(2) or value > 1:
        value /= 100
    answer = (text[: last.start()] + text[last.end() :]).strip()
    return max(0.0, min(1.0, value)), answer
