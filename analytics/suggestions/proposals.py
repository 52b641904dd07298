"""From evidence to proposed suggestions: cluster the questions of each kind and keep the clusters
that recur enough to be worth a change, each with its title and evidence."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from analytics.suggestions.clustering import cluster, topic_of
from analytics.suggestions.evidence import AccountEvidence, Evidence
from analytics.suggestions.models import Suggestion

MIN_QUESTIONS = 3  # a cluster smaller than this is an anecdote, not a pattern
MIN_PATTERN_DOWNS = 2
# A knowledge gap fails more often than the account's answers in general: at least this share of the
# times its questions were asked, and this many times the account's own rate.
MIN_GAP_SHARE = 0.25
GAP_OVER_BASELINE = 3.0
MAX_GAP_SHARE_NEEDED = 0.9  # where nearly everything fails, a cluster that always fails still counts
ROUTING_SHARE = 0.6  # of a cluster's misroutes, the share that must end with the same agent


@dataclass
class Proposal:
    kind: str
    title: str
    evidence: list[Evidence]  # oldest first
    topic: str = ""
    centroid: list[float] | None = None
    agent_id: int | None = None
    from_agent_id: int | None = None
    pattern_id: int | None = None
    natural_key: str | None = None  # set when the suggestion has one (a pattern); else matched by content
    message_ids: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.message_ids = {e.message_id for e in self.evidence}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _clusters(items: list[Evidence]):
    clusters, vectors = cluster([e.question for e in items])
    for found in clusters:
        members = [items[i] for i in found.members]
        member_vectors = vectors[found.members]
        centroid = found.centroid
        topic = topic_of([e.question for e in members], member_vectors, centroid)
        yield members, [round(float(x), 5) for x in centroid], topic


def gap_proposals(items: list[Evidence], asked: dict[str, int], questions_asked: int) -> list[Proposal]:
    baseline = len(items) / questions_asked if questions_asked else 0.0
    proposals = []
    for members, centroid, topic in _clusters(items):
        if len(members) < MIN_QUESTIONS:
            continue
        times = sum(asked.get(text, 1) for text in {e.question for e in members})
        share = len(members) / max(times, len(members))
        if share < max(MIN_GAP_SHARE, min(GAP_OVER_BASELINE * baseline, MAX_GAP_SHARE_NEEDED)):
            continue  # asked often, failing no more than the rest: no gap in what the agents know
        person = sum(1 for e in members if e.source == "escalation")
        down = len(members) - person
        if person and down:
            what = f"went to a person ({person}) or were thumbed down ({down})"
        else:
            what = "went to a person" if person else "were thumbed down"
        title = f"{_plural(len(members), 'question')} about “{topic}” {what}: add an article"
        proposals.append(Proposal(Suggestion.Kind.ARTICLE, title, members, topic=topic, centroid=centroid))
    return proposals


def scope_proposals(items: list[Evidence]) -> list[Proposal]:
    proposals = []
    for members, centroid, topic in _clusters(items):
        if len(members) < MIN_QUESTIONS:
            continue
        title = (
            f"{_plural(len(members), 'question')} about “{topic}” were refused as out of scope: "
            "add an article if your agents should answer them"
        )
        proposals.append(Proposal(Suggestion.Kind.SCOPE, title, members, topic=topic, centroid=centroid))
    return proposals


def routing_proposals(items: list[Evidence], agent_names: dict[int, str]) -> list[Proposal]:
    """A cluster of first-turn misroutes that mostly ended with one agent: that agent's routing
    examples are missing these questions."""
    proposals = []
    for members, centroid, topic in _clusters(items):
        targets = Counter(e.to_agent_id for e in members)
        target, count = targets.most_common(1)[0]
        if count < MIN_QUESTIONS or count < ROUTING_SHARE * len(members) or target not in agent_names:
            continue
        moved = [e for e in members if e.to_agent_id == target]
        source, from_count = Counter(e.from_agent_id for e in moved).most_common(1)[0]
        from_agent = source if from_count >= ROUTING_SHARE * len(moved) and source in agent_names else None
        routed_to = agent_names[from_agent] if from_agent else "other agents"
        to_name = agent_names[target]
        title = (
            f"{_plural(len(moved), 'question')} about “{topic}” routed to {routed_to} were handed to "
            f"{to_name}: add routing examples to {to_name}"
        )
        proposals.append(
            Proposal(
                Suggestion.Kind.ROUTING,
                title,
                moved,
                topic=topic,
                centroid=centroid,
                agent_id=target,
                from_agent_id=from_agent,
            )
        )
    return proposals


def pattern_proposals(items: list[Evidence], problems: dict[int, str]) -> list[Proposal]:
    by_pattern: dict[int, list[Evidence]] = {}
    for item in items:
        by_pattern.setdefault(item.pattern_id, []).append(item)
    proposals = []
    for pattern_id, members in sorted(by_pattern.items()):
        if len(members) < MIN_PATTERN_DOWNS or pattern_id not in problems:
            continue
        problem = problems[pattern_id].strip().replace("\n", " ")
        short = problem if len(problem) <= 60 else problem[:59] + "…"
        times = _plural(len(members), "time")
        title = f"Learned pattern #{pattern_id} (“{short}”) was thumbed down {times}: review it"
        proposals.append(
            Proposal(
                Suggestion.Kind.PATTERN,
                title,
                members,
                topic=short,
                pattern_id=pattern_id,
                natural_key=f"pattern:{pattern_id}",
            )
        )
    return proposals


def proposals_for(
    evidence: AccountEvidence, *, agent_names: dict[int, str], problems: dict[int, str]
) -> list[Proposal]:
    return [
        *pattern_proposals(evidence.pattern_downs, problems),
        *gap_proposals(evidence.gaps, evidence.asked, evidence.questions_asked),
        *scope_proposals(evidence.out_of_scope),
        *routing_proposals(evidence.misroutes, agent_names),
    ]


def centroid_similarity(a: list[float] | None, b: list[float] | None) -> float:
    if not a or not b:
        return 0.0
    va, vb = np.array(a), np.array(b)
    denominator = float(np.linalg.norm(va) * np.linalg.norm(vb))
    return float(va @ vb) / denominator if denominator else 0.0
