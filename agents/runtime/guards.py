"""Hand-off cycle detection: pure functions over the edges taken in one turn."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_REPEAT_THRESHOLD = 3


@dataclass(frozen=True)
class CycleVerdict:
    kind: str  # "ping_pong" or "repeated_edge"
    detail: str


def check_handoff(
    edges: list[tuple[str, str]],
    new_edge: tuple[str, str],
    *,
    repeat_threshold: int = DEFAULT_REPEAT_THRESHOLD,
) -> CycleVerdict | None:
    """Whether taking ``new_edge`` after ``edges`` (this turn's hand-offs, in order)
    would loop. Ping-pong: A -> B immediately followed by B -> A. Repeated edge: the
    same A -> B taken ``repeat_threshold`` times in the turn."""
    source, target = new_edge
    if edges and edges[-1] == (target, source):
        return CycleVerdict(
            "ping_pong", f"{target} -> {source} -> {target}: the agents are passing the request back"
        )
    taken = sum(1 for edge in edges if edge == new_edge) + 1
    if taken >= repeat_threshold:
        return CycleVerdict("repeated_edge", f"{source} -> {target} would be taken {taken} times in one turn")
    return None
