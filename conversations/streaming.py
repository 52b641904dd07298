"""What each socket has already shown, so re-syncs and frames never double text."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class StreamCursor:
    offsets: dict[int, int] = field(default_factory=dict)

    def rendered(self, message_id: int, length: int) -> None:
        """The socket now shows the first ``length`` characters of the message."""
        self.offsets[message_id] = length

    def new_text(self, message_id: int, start: int, text: str) -> str | None:
        """The part of a frame this socket has not shown yet: "" when it is all
        known, None when the socket cannot append it (never rendered the message,
        or a gap) and should re-render the message instead."""
        shown = self.offsets.get(message_id)
        if shown is None or start > shown:
            return None
        end = start + len(text)
        if end <= shown:
            return ""
        self.offsets[message_id] = end
        return text[shown - start :]
