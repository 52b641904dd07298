"""Voting over agents' answers: pure functions, shared by consensus runs and the
hierarchical "vote" aggregation."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

_PUNCTUATION = re.compile(r"[^\w\s]")
_SPACE = re.compile(r"\s+")


def normalise(answer: str) -> str:
    """The form answers are compared in: case, accents, punctuation and spacing removed,
    so "Yes." and "yes" agree and "Vendor B!" and "vendor b" agree."""
    text = unicodedata.normalize("NFKD", answer or "")
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = _PUNCTUATION.sub(" ", text.casefold())
    return _SPACE.sub(" ", text).strip()


@dataclass(frozen=True)
class Ballot:
    task_id: int
    agent: str
    answer: str | None  # None: the agent did not answer (failed or cancelled)


def tally(ballots: list[Ballot], *, min_agreement: float, forms: list[str] | None = None) -> dict:
    """The consensus result: ``consensus`` (bool), ``agreement`` (the winning answer's share
    of all ballots, non-answers included), ``answer`` (the first-given wording of the winner;
    empty when there is none), ``tie`` (two or more answers share the most votes) and
    ``votes``: one row per ballot, whose ``vote`` is True when it agrees with the winner.
    ``forms`` replaces the normalised forms (equal forms agree), e.g. as a judge grouped them."""
    if forms is None:  # a judge model may have grouped the answers already
        forms = [normalise(b.answer) if b.answer is not None else "" for b in ballots]
    counts = Counter(form for form in forms if form)
    ranked = counts.most_common()
    tie = len(ranked) > 1 and ranked[0][1] == ranked[1][1]
    winner = ranked[0][0] if ranked and not tie else ""
    share = (counts[winner] / len(ballots)) if winner and ballots else 0.0
    answer = next(
        (b.answer or "" for b, form in zip(ballots, forms, strict=True) if winner and form == winner), ""
    )
    return {
        "consensus": bool(winner) and share >= min_agreement,
        "agreement": round(share, 4),
        "answer": answer.strip(),
        "tie": tie,
        "min_agreement": min_agreement,
        "votes": [
            {
                "task_id": b.task_id,
                "agent": b.agent,
                "answer": b.answer or "",
                "normalised": form,
                "vote": bool(winner) and form == winner,
            }
            for b, form in zip(ballots, forms, strict=True)
        ],
    }


def vote_groups(votes: list[dict]) -> list[dict]:
    """The ballots of a result's ``votes`` grouped by what they were compared as: each
    distinct answer once (its first wording), with its voters and their count, most votes
    first; the agents that gave no answer last. A table row per ballot repeated the same
    long answer once per agent that gave it."""
    groups: dict[str, dict] = {}
    for vote in votes:
        form = vote.get("normalised") or ""
        group = groups.setdefault(
            form,
            {"answer": vote.get("answer") or "", "normalised": form, "voters": [], "winner": False},
        )
        group["voters"].append(vote.get("agent") or "?")
        group["winner"] = group["winner"] or bool(vote.get("vote"))
    total = len(votes)
    rows = [
        {**g, "votes": len(g["voters"]), "share": len(g["voters"]) / total if total else 0.0}
        for g in groups.values()
    ]
    # Most votes first; the no-answer group (empty form) after every real answer.
    return sorted(rows, key=lambda g: (not g["normalised"], -g["votes"]))


JUDGE_INSTRUCTIONS = (
    "Several agents answered the same question. For each answer, in order, give the number of the "
    "first answer that means the same thing (its own number when no earlier answer does). "
    "Reply with the numbers only, separated by spaces."
)


def judge_prompt(question: str, answers: list[str]) -> str:
    numbered = "\n".join(f"{i}. {answer}" for i, answer in enumerate(answers, start=1))
    return f"{JUDGE_INSTRUCTIONS}\n\nQuestion:\n{question.strip()}\n\nAnswers:\n{numbered}"


def judged_forms(reply: str, answers: list[str]) -> list[str] | None:
    """The judge's grouping as comparison forms (each answer takes its group's first
    answer's normalised text), or None when the reply is not a valid grouping."""
    numbers = [int(n) for n in re.findall(r"\d+", reply)]
    if len(numbers) != len(answers) or any(not 1 <= n <= i for i, n in enumerate(numbers, start=1)):
        return None
    groups: list[int] = []
    for index, number in enumerate(numbers):
        # Follow the chain to the group's first answer: "3 means the same as 2, which is 1".
        groups.append(index if number - 1 == index else groups[number - 1])
    return [normalise(answers[g]) or f"answer {g + 1}" for g in groups]
