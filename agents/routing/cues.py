"""Lexical intent cues: short regular expressions that signal a kind of request.

The cues are grouped by *intent* (advice, artifact, action, problem, commercial, research), not by
agent: each pattern becomes one binary feature and the router's classifier learns from the
account's routing examples which agent each cue points to. So the same cues serve any catalog, and
an account whose agents split the work differently still routes from its own examples.

Patterns describe the vocabulary of each intent in general terms (the catalog's "handles" column);
they are not written against individual queries.
"""

from __future__ import annotations

import re

import numpy as np

_ACTION_VERBS = (
    "go ahead|apply|deploy|run|create|update|delete|remove|activate|deactivate|enable|disable|"
    "turn (?:on|off)|switch (?:on|off)|set|add|install|uninstall|import|execute|restart|reboot|"
    "schedule|grant|revoke|reset|publish|promote|roll ?back|revert|clone|merge|rename|configure|"
    "provision|retire|load|move|push|commit|change|insert|bulk|kick off|trigger|raise|lower|make|"
    "assign|reassign|close|reopen|archive|purge|upgrade|patch|migrate|onboard|offboard"
)

INTENT_CUES: dict[str, tuple[str, ...]] = {
    "advice": (
        r"\bbest[- ]practices?\b",
        r"\bgood practice\b",
        r"\brecommend(?:ed|ation|ations|s)?\b",
        r"\badvi[cs]e\b",
        r"\bshould (?:we|i|our|the|a|an|it|they|there)\b",
        r"\bhow should\b",
        r"\bexplain\b",
        r"\bpros and cons\b",
        r"\btrade-?offs?\b",
        r"\bgovernance\b",
        r"\bwhat (?:is|are) (?:a|an|the)\b",
        r"\bwhy (?:do|does|should|would)\b",
        r"\b(?:good|bad) idea\b",
        r"\bapproach\b",
        r"\bkpis?\b",
        r"\bmetrics?\b",
        r"\bprocess(?:es)?\b",
        r"\bowner(?:ship)?\b",
        r"\bwhat'?s the point\b",
        r"\b(?:your|ur) (?:take|view|opinion)\b",
        r"\bis it (?:worth|wise|better|ok|okay)\b",
        r"\bhow (?:do|can) we\b",
        r"\bconcept\b",
        r"\bmaturity\b",
        r"\bitil\b",
    ),
    "artifact": (
        r"\bwrite\b",
        r"\bdraft\b",
        r"\bdesign\b",
        r"\bsketch\b",
        r"\bscripts?\b",
        r"\bcode\b",
        r"\bschemas?\b",
        r"\bquer(?:y|ies)\b",
        r"\bregex\b",
        r"\bspec(?:ification)?s?\b",
        r"\byaml\b",
        r"\bjson\b",
        r"\bxml\b",
        r"\barchitect(?:ure)?\b",
        r"\bdiagram\b",
        r"\bpseudo-?code\b",
        r"\bbusiness rules?\b",
        r"\bclient scripts?\b",
        r"\btemplate\b",
        r"\bmanifest\b",
        r"\bdata model\b",
        r"\bfunction\b",
        r"\bconfig(?:uration)? files?\b",
        r"\bterraform\b",
        r"\bapi contract\b",
        r"\bgive me an? \w+",
        r"\bgenerate\b",
        r"\b(?:glide\w*|sql|python|powershell|bash|javascript)\b",
        r"\bdon'?t (?:run|apply|execute|deploy)\b",
    ),
    "action": (
        rf"^(?:please |pls |can you |could you |can u |ok,? |okay,? |yes,? |now )?(?:{_ACTION_VERBS})\b",
        r"\bgo ahead\b",
        r"\b(?:in|on|to|into|from) (?:the )?(?:prod|production|live|staging|sandbox)\b",
        r"\b(?:our|the|my) (?:prod|production|dev|test|live|staging|sandbox|development|uat) instance\b",
        r"\b(?:in|on) (?:our|the|my) instance\b",
        r"\bnow\b",
        r"\b(?:tonight|today|this (?:afternoon|evening|weekend))\b",
        r"\bplugin\b",
        r"\bupdate sets?\b",
        r"\bon (?:host|server) \S+",
    ),
    "problem": (
        r"\berrors?\b",
        r"\bfail(?:s|ed|ing|ure|ures)?\b",
        r"\bbroken\b",
        r"\bnot (?:working|loading|sending|showing|creating|firing|syncing|responding|receiving)\b",
        r"\b(?:doesn'?t|isn'?t|aren'?t|won'?t|can'?t|cannot|couldn'?t|didn'?t|wasn'?t|stopped|no longer)\b",
        r"\bdown\b",
        r"\boutages?\b",
        r"\bstuck\b",
        r"\btim(?:e|ed|ing|es) ?outs?\b",
        r"\bcrash(?:es|ed|ing)?\b",
        r"\bbugs?\b",
        r"\b[45]\d\d\b",
        r"\banymore\b",
        r"\bslow\b",
        r"\bmissing\b",
        r"\bunable\b",
        r"\blocked out\b",
        r"\btickets?\b",
        r"\b(?:inc|cs|ritm|req|chg|prb)\d{4,}\b",
        r"\bwhy (?:is|are|does|do|did|won'?t|can'?t)\b",
        r"\bhelp\b",
        r"\bkeeps?\b",
        r"\bsince\b",
        r"\bwrong\b",
        r"\bexception\b",
        r"\bunauthori[sz]ed|forbidden\b",
        r"\b(?:empty|blank)\b",
    ),
    "commercial": (
        r"\bpric(?:e|es|ed|ing)\b",
        r"\bcosts?\b",
        r"\bhow much\b",
        r"\bquotes?\b",
        r"\bdiscounts?\b",
        r"\btrials?\b",
        r"\blicen[cs](?:e|es|ing|ed)\b",
        r"\bseats?\b",
        r"\bplans?\b",
        r"\btiers?\b",
        r"\beditions?\b",
        r"\bsubscri(?:be|ption|ptions)\b",
        r"\bbill(?:ed|ing)?\b",
        r"\binvoices?\b",
        r"\brenew(?:al|als|s|ing)?\b",
        r"\bcancel(?:l?ing|l?ed|lation)?\b",
        r"\bpurchas(?:e|ing)\b",
        r"\bbuy(?:ing)?\b",
        r"\bcheap(?:er|est)?\b",
        r"\bsales\b",
        r"\baccount (?:manager|executive)\b",
        r"\badd-?ons?\b",
        r"\bcontracts?\b",
        r"\bbudget\b",
        r"\bpay(?:ing|ment|ments)?\b",
        r"\bfree\b",
        r"\bpackage\b",
        r"\bupgrade (?:our|my|to)\b",
        r"\bdowngrade\b",
        r"\b(?:per|a) (?:user|agent|seat|month|year)\b",
        r"\b(?:starter|team|standard|professional|pro|enterprise|premium|basic|business|plus) "
        r"(?:plan|tier|edition|package|subscription)s?\b",
        r"[$€£]\s?\d",
    ),
    "research": (
        r"\bcompar(?:e|es|ing|ison|isons)\b",
        r"\bvs\.?\b",
        r"\bversus\b",
        r"\bvendors?\b",
        r"\bcompetit(?:or|ors|ive|ion)\b",
        r"\bmarket\b",
        r"\blandscape\b",
        r"\bsummar(?:y|ise|ize|ised|ized|ies)\b",
        r"\btl;?dr\b",
        r"\bfind (?:me )?(?:some )?"
        r"(?:sources|articles|papers|studies|surveys|statistics|case studies|data)\b",
        r"\bsources\b",
        r"\breports?\b",
        r"\bwhitepapers?\b",
        r"\banalysts?\b",
        r"\b(?:gartner|forrester|idc)\b",
        r"\btrends?\b",
        r"\bcase studies\b",
        r"\bstatistics\b",
        r"\bstudies\b",
        r"\bpapers?\b",
        r"\barticles?\b",
        r"\bdiffer\b",
        r"\balternatives\b",
        r"\breviews\b",
        r"\bresearch\b",
        r"\bwho are the\b",
        r"\bwhich (?:vendors|tools|platforms|companies|products)\b",
        r"\boverview\b",
        r"\bswot\b",
        r"\bbenchmarks?\b",
        r"\bframeworks?\b",
    ),
}

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (intent, re.compile(pattern, re.IGNORECASE))
    for intent, patterns in INTENT_CUES.items()
    for pattern in patterns
)
CUE_COUNT = len(_PATTERNS)


def cue_vector(text: str) -> np.ndarray:
    """One 0/1 entry per cue pattern."""
    out = np.zeros(CUE_COUNT, dtype=np.float32)
    for index, (_, pattern) in enumerate(_PATTERNS):
        if pattern.search(text):
            out[index] = 1.0
    return out


def cue_matrix(texts: list[str]) -> np.ndarray:
    return np.stack([cue_vector(text) for text in texts]) if texts else np.zeros((0, CUE_COUNT), np.float32)


def matched_cue_indices(text: str) -> list[tuple[int, str]]:
    """(cue index, matched words) for every cue found in ``text``: one scan serves features and reasons."""
    found = []
    for index, (_, pattern) in enumerate(_PATTERNS):
        match = pattern.search(text)
        if match:
            found.append((index, match.group(0).strip().lower()))
    return found


def matched_cues(text: str) -> list[tuple[str, str]]:
    """(intent, matched words) for the cues found in ``text``, for human-readable reasons."""
    found = []
    for intent, pattern in _PATTERNS:
        match = pattern.search(text)
        if match:
            found.append((intent, match.group(0).strip().lower()))
    return found
