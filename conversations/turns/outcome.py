"""What one turn (or one of its steps) ended in: shared by the runner and its tool-call steps."""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.llm.gateway import StreamResult


@dataclass
class TurnOutcome:
    status: str  # a Message.Status value
    error: str = ""
    usage: StreamResult = field(default_factory=StreamResult)
