"""Measure a router on labelled queries: accuracy, per-agent precision and recall, latency."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


class LabelledFileError(ValueError):
    """A labelled file that is missing or has a malformed line (the message says which)."""


def read_labelled(path: str | Path) -> list[tuple[str, str]]:
    """(query, agent) pairs from JSON lines ``{"query": ..., "agent": ...}``; blank lines skipped."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise LabelledFileError(f"{path}: no such file") from exc
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise LabelledFileError(f"{path}: cannot read ({exc})") from exc
    rows: list[tuple[str, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LabelledFileError(f"{path}: line {number} is not valid JSON ({exc.msg})") from exc
        if not isinstance(item, dict):
            raise LabelledFileError(f"{path}: line {number} is not a JSON object")
        query, agent = item.get("query"), item.get("agent")
        if not isinstance(query, str) or not query.strip():
            raise LabelledFileError(f'{path}: line {number} has no "query" string')
        if not isinstance(agent, str) or not agent.strip():
            raise LabelledFileError(f'{path}: line {number} has no "agent" string')
        rows.append((query, agent.strip()))
    return rows


@dataclass(frozen=True)
class AgentStats:
    agent: str
    precision: float
    recall: float
    support: int  # how many rows are labelled with this agent
    predicted: int  # how many rows the router sent to this agent


@dataclass(frozen=True)
class EvalReport:
    total: int
    correct: int
    per_agent: tuple[AgentStats, ...]
    confusions: tuple[tuple[str, str, int], ...]  # (expected, predicted, count), most frequent first
    p50_ms: float
    p95_ms: float
    errors: tuple[tuple[str, str, str], ...] = field(default=())  # (query, expected, predicted)

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def format(self, *, show_errors: int = 10) -> str:
        width = max([len("agent"), *(len(stats.agent) for stats in self.per_agent)])
        lines = [
            f"{'agent':<{width}}  precision  recall  support  predicted",
            *(
                f"{stats.agent:<{width}}  {stats.precision:9.3f}  {stats.recall:6.3f}  "
                f"{stats.support:7d}  {stats.predicted:9d}"
                for stats in self.per_agent
            ),
            "",
            f"queries: {self.total}  latency p50: {self.p50_ms:.1f} ms  p95: {self.p95_ms:.1f} ms",
        ]
        if self.confusions:
            lines.append("confusions (expected -> predicted):")
            lines.extend(
                f"  {expected} -> {predicted}: {count}" for expected, predicted, count in self.confusions
            )
        if self.errors and show_errors:
            lines.append("misrouted:")
            lines.extend(
                f"  [{expected} -> {predicted}] {query}"
                for query, expected, predicted in self.errors[:show_errors]
            )
        lines.append(f"accuracy: {self.accuracy:.3f}")
        return "\n".join(lines)


def evaluate(router, rows: list[tuple[str, str]]) -> EvalReport:
    """Route every row once (after one warm-up call) and compare with its label."""
    if rows:
        router.route(rows[0][0])  # load the embedding model outside the timings
    predictions: list[str] = []
    timings: list[float] = []
    for query, _ in rows:
        started = time.perf_counter()
        decision = router.route(query)
        timings.append((time.perf_counter() - started) * 1000)
        predictions.append(decision.agent)

    expected = [agent for _, agent in rows]
    agents = list(dict.fromkeys([*getattr(router, "slugs", ()), *expected]))
    stats = []
    for agent in agents:
        true_positive = sum(
            1 for e, p in zip(expected, predictions, strict=True) if e == agent and p == agent
        )
        predicted = predictions.count(agent)
        support = expected.count(agent)
        stats.append(
            AgentStats(
                agent=agent,
                precision=true_positive / predicted if predicted else 0.0,
                recall=true_positive / support if support else 0.0,
                support=support,
                predicted=predicted,
            )
        )
    pairs = Counter((e, p) for e, p in zip(expected, predictions, strict=True) if e != p)
    errors = tuple((query, e, p) for (query, e), p in zip(rows, predictions, strict=True) if e != p)
    return EvalReport(
        total=len(rows),
        correct=sum(1 for e, p in zip(expected, predictions, strict=True) if e == p),
        per_agent=tuple(stats),
        confusions=tuple((e, p, n) for (e, p), n in pairs.most_common()),
        p50_ms=float(np.percentile(timings, 50)) if timings else 0.0,
        p95_ms=float(np.percentile(timings, 95)) if timings else 0.0,
        errors=errors,
    )


def cross_validate(profiles, *, folds: int = 5, repeats: int = 1, seed: int = 0) -> float:
    """Accuracy on the profiles' own examples, each held out of the router that routes it.

    Every example is routed by a router trained on the other folds (stratified per agent). For
    speed the examples are embedded once and the fold routers share those vectors: this is an
    offline measurement helper, not the serving path.
    """
    from agents.knowledge.embeddings import embed
    from agents.routing.router import AgentProfile, Router

    texts = sorted(
        {text for profile in profiles for text in (*profile.examples, profile.description) if text}
    )
    vectors = dict(zip(texts, embed(texts), strict=True))

    def embedder(batch: list[str]) -> np.ndarray:
        missing = [text for text in batch if text not in vectors]
        if missing:
            vectors.update(zip(missing, embed(missing), strict=True))
        return np.stack([vectors[text] for text in batch])

    rng = np.random.default_rng(seed)
    correct = total = 0
    for _ in range(repeats):
        assignment = {profile.slug: rng.permutation(len(profile.examples)) % folds for profile in profiles}
        for fold in range(folds):
            train = [
                AgentProfile(
                    slug=profile.slug,
                    name=profile.name,
                    description=profile.description,
                    examples=tuple(
                        text
                        for text, f in zip(profile.examples, assignment[profile.slug], strict=True)
                        if f != fold
                    ),
                )
                for profile in profiles
            ]
            router = Router(train, embedder=embedder)
            for profile in profiles:
                for text, f in zip(profile.examples, assignment[profile.slug], strict=True):
                    if f == fold:
                        total += 1
                        correct += router.route(text).agent == profile.slug
    return correct / total if total else 0.0
