"""Answer quality of the offline model on labelled questions: is the first source the expected
article, and does the answer contain the key fact?"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from agents.knowledge.retrieval import compose_answer, search
from agents.selectors import knowledge_articles_for_account

DEMO_QUESTIONS = Path(__file__).resolve().parents[1] / "fixtures" / "knowledge_questions.jsonl"


@dataclass(frozen=True)
class LabelledQuestion:
    question: str
    article: str  # the expected article's slug
    fact: str  # a short phrase the answer must contain


def read_questions(path: str | Path) -> list[LabelledQuestion]:
    rows = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            rows.append(LabelledQuestion(item["question"], item["article"], item["fact"]))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: line {number} is not a labelled question ({exc})") from exc
    return rows


@dataclass(frozen=True)
class AnswerReport:
    total: int
    top1_correct: int
    fact_present: int
    misses: tuple[tuple[str, str, str], ...] = field(default=())  # (question, expected, what went wrong)
    mean_words: float = 0.0

    @property
    def top1_source(self) -> float:
        return self.top1_correct / self.total if self.total else 0.0

    @property
    def key_fact(self) -> float:
        return self.fact_present / self.total if self.total else 0.0

    def format(self, *, show_misses: int = 10) -> str:
        lines = [f"questions: {self.total}  mean answer length: {self.mean_words:.0f} words"]
        if self.misses and show_misses:
            lines.append("misses:")
            lines.extend(
                f"  [{expected}] {question}: {why}" for question, expected, why in self.misses[:show_misses]
            )
        lines.append(f"top1_source: {self.top1_source:.3f}")
        lines.append(f"key_fact: {self.key_fact:.3f}")
        return "\n".join(lines)


def evaluate_answers(*, account_id: int, questions: list[LabelledQuestion]) -> AnswerReport:
    slugs = dict(knowledge_articles_for_account(account_id=account_id).values_list("id", "slug"))
    top1 = facts = words = 0
    misses = []
    for item in questions:
        hits = search(account_id=account_id, query=item.question)
        answer = compose_answer(query=item.question, hits=hits)
        words += len(answer.split())
        first = slugs.get(hits[0].passage.article_id) if hits else None
        top1 += first == item.article
        found = item.fact.lower() in answer.lower()
        facts += found
        if first != item.article or not found:
            why = f"first source {first or 'none'}" + ("" if found else f", no '{item.fact}'")
            misses.append((item.question, item.article, why))
    return AnswerReport(
        total=len(questions),
        top1_correct=top1,
        fact_present=facts,
        misses=tuple(misses),
        mean_words=words / len(questions) if questions else 0.0,
    )
