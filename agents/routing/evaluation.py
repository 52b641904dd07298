"""Measure a router on labelled queries: accuracy, per-agent precision and recall, out-of-scope
recall, false refusals, calibration (ECE) and latency.

A line whose ``agent`` is ``null`` is out of scope: no agent should take it."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


class LabelledFileError(ValueError):
    """A labelled file that is missing or has a malformed line (the message says which)."""


def read_labelled(path: str | Path) -> list[tuple[str, str | None]]:
    """(query, agent) pairs from JSON lines ``{"query": ..., "agent": ...}``; blank lines skipped.
    ``"agent": null`` (agent None) marks an out-of-scope query."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise LabelledFileError(f"{path}: no such file") from exc
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise LabelledFileError(f"{path}: cannot read ({exc})") from exc
    rows: list[tuple[str, str | None]] = []
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
        if "agent" not in item or (agent is not None and (not isinstance(agent, str) or not agent.strip())):
            raise LabelledFileError(f'{path}: line {number} has no "agent" string (or null for out of scope)')
        rows.append((query, agent.strip() if agent is not None else None))
    return rows


@dataclass(frozen=True)
class AgentStats:
    agent: str
    precision: float
    recall: float
    support: int  # how many rows are labelled with this agent
    predicted: int  # how many rows the router sent to this agent


def expected_calibration_error(confidences: list[float], correct: list[bool], *, bins: int = 10) -> float:
    """ECE: the gap between confidence and accuracy, averaged over equal-width confidence bins
    weighted by how many decisions fall in each."""
    if not confidences:
        return 0.0
    conf = np.asarray(confidences, dtype=np.float64)
    hits = np.asarray(correct, dtype=np.float64)
    # Bin i holds (i/bins, (i+1)/bins]; a confidence of exactly 0 goes into the first bin.
    index = np.clip(np.ceil(conf * bins).astype(int) - 1, 0, bins - 1)
    total = 0.0
    for b in range(bins):
        members = index == b
        if members.any():
            total += members.sum() * abs(conf[members].mean() - hits[members].mean())
    return float(total / len(conf))


@dataclass(frozen=True)
class EvalReport:
    total: int  # in-scope lines
    correct: int  # in-scope lines sent to the expected agent
    per_agent: tuple[AgentStats, ...]
    confusions: tuple[tuple[str, str, int], ...]  # (expected, predicted, count), most frequent first
    p50_ms: float
    p95_ms: float
    errors: tuple[tuple[str, str, str], ...] = field(default=())  # (query, expected, predicted)
    out_of_scope_total: int = 0  # lines labelled out of scope
    out_of_scope_caught: int = 0  # ...that the router refused
    false_out_of_scope: int = 0  # in-scope lines the router refused
    ece: float = 0.0

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    @property
    def oos_recall(self) -> float:
        return self.out_of_scope_caught / self.out_of_scope_total if self.out_of_scope_total else 0.0

    @property
    def false_oos_rate(self) -> float:
        return self.false_out_of_scope / self.total if self.total else 0.0

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
            f"queries: {self.total} in scope, {self.out_of_scope_total} out of scope  "
            f"latency p50: {self.p50_ms:.1f} ms  p95: {self.p95_ms:.1f} ms",
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
        lines.append(f"oos_recall: {self.oos_recall:.3f}")
        lines.append(f"false_oos_rate: {self.false_oos_rate:.3f}")
        lines.append(f"ece: {self.ece:.3f}")
        # Last, as before: the rollout gate and scripts read the final line.
        lines.append(f"accuracy: {self.accuracy:.3f}")
        return "\n".join(lines)


OUT_OF_SCOPE = "(out of scope)"


def evaluate(router, rows: list[tuple[str, str | None]]) -> EvalReport:
    """Route every row once (after one warm-up call) and compare with its label. Accuracy and the
    per-agent figures are over in-scope rows (a refused in-scope row counts as wrong there too);
    calibration is over every row, out-of-scope ones included."""
    if rows:
        router.route(rows[0][0])  # load the embedding model outside the timings
    decisions = []
    timings: list[float] = []
    for query, _ in rows:
        started = time.perf_counter()
        decisions.append(router.route(query))
        timings.append((time.perf_counter() - started) * 1000)

    def label(decision) -> str:
        return decision.agent if getattr(decision, "out_of_scope", None) is None else OUT_OF_SCOPE

    every_predicted = [label(d) for d in decisions]
    every_expected = [agent if agent is not None else OUT_OF_SCOPE for _, agent in rows]
    ece = expected_calibration_error(
        [float(d.confidence) for d in decisions],
        [e == p for e, p in zip(every_expected, every_predicted, strict=True)],
    )
    oos_rows = [p for e, p in zip(every_expected, every_predicted, strict=True) if e == OUT_OF_SCOPE]
    in_scope = [(row, p) for row, p in zip(rows, every_predicted, strict=True) if row[1] is not None]
    rows = [row for row, _ in in_scope]
    predictions = [p for _, p in in_scope]
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
        out_of_scope_total=len(oos_rows),
        out_of_scope_caught=sum(1 for p in oos_rows if p == OUT_OF_SCOPE),
        false_out_of_scope=predictions.count(OUT_OF_SCOPE),
        ece=ece,
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
