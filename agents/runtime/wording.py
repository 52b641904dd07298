"""What the end user reads when the system, not an agent, speaks: small talk, refusals of
off-topic requests, clarifying questions, hand-offs and denied actions.

Plain sentences built from the account's agents (names and descriptions), never the router's
diagnostics: those stay with the operators (the hand-off's reason, the turn's state, the admin).
None of these texts may read as "cannot resolve" to the escalation detector: small talk and a
refusal are complete answers, not failures.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from agents.routing import scope
from agents.routing.cues import matched_cues

_TOPIC_INTENTS = frozenset({"commercial", "problem"})
_NOT_TOPICS = frozenset({"down", "not", "broken", "stuck", "failing", "failed", "cancel", "buy"})

DENIED_ANSWER = "OK, I won't do that. Anything else?"

_OPENERS = {
    scope.GREETING: "Hi! ",
    scope.THANKS: "You're welcome! ",
    scope.FAREWELL: "Goodbye, and thanks for stopping by! ",
    scope.CHIT_CHAT: "I'm the assistant for this workspace, so I'll stick to work topics. ",
}


def agent_area(name: str, description: str) -> str:
    """ "Sales: prices, plans, tiers, quotes" from the agent's description: the words after its
    verb, up to the first full stop, colon or a dozen words."""
    first = re.split(r"(?<=[a-z])\.\s|:|\n", (description or "").strip(), maxsplit=1)[0].strip().rstrip(".")
    words = first.split()
    if words and words[0].lower().endswith("s") and words[0][:1].isupper():  # "Handles", "Gives"
        words = words[1:]
        if words and words[0].lower() == "and" and len(words) > 2:  # "Designs and writes artifacts"
            words = words[2:]
    area = " ".join(words[:12]).rstrip(",;") or name
    return area[:1].lower() + area[1:]


def _capabilities(agents: Sequence[tuple[str, str]]) -> str:
    items = [f"**{name}** ({agent_area(name, description)})" for name, description in agents]
    if not items:
        return "questions about this account's services"
    return "; ".join(items)


def out_of_scope_reply(*, kind: str, agents: Sequence[tuple[str, str]]) -> str:
    """The answer to small talk or an off-topic message; ``agents`` is (name, description) pairs."""
    capabilities = _capabilities(agents)
    if kind == scope.FAREWELL:
        return _OPENERS[kind] + "If anything else comes up, I can help with: " + capabilities + "."
    if kind in _OPENERS:
        return (
            _OPENERS[kind] + "Here's what I can help with: " + capabilities + ". What would you like to do?"
        )
    if kind == scope.UNINTELLIGIBLE:
        return (
            "Sorry, I didn't catch that. Could you say it in a few words? I can help with: "
            + capabilities
            + "."
        )
    return (
        "That's outside what this assistant is for, so I'll leave that one. "
        "Here's what I can help with: " + capabilities + "."
    )


def clarify_question(*, options: Sequence[str]) -> str:
    """Ask which of the two likeliest agents the user means instead of guessing."""
    if len(options) < 2:
        return "Could you tell me a little more about what you need?"
    return (
        f"I want to get this to the right place. Is this for **{options[0]}** or **{options[1]}**? "
        "Reply with the name, or add a detail or two."
    )


def handoff_sentence(*, target: str, description: str, text: str) -> str:
    """'Sales is taking over: you asked about pricing and a quote.' The topic comes from the words
    of the user's message that signalled the intent, else from the new agent's area."""
    # Nouns of a topic read well after "you asked about"; advice and action cues ("should we",
    # "create") do not, so those hand-offs name the agent's area instead.
    words = [
        word.lower()
        for intent, word in matched_cues(text or "")
        if intent in _TOPIC_INTENTS and len(word) > 2 and " " not in word and word.lower() not in _NOT_TOPICS
    ]
    words = list(dict.fromkeys(words))[:3]
    if words:
        topic = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
        return f"{target} is taking over: you asked about {topic}."
    return f"{target} is taking over: this is about {agent_area(target, description)}."
