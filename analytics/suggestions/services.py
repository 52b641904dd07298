"""Writes for suggestions: the refresh that keeps them in step with the evidence, accepting (which
returns the prefilled edit to open) and dismissing.

The refresh is idempotent: a proposal is matched to the suggestion it was before (a pattern by its
id, a cluster by the questions it shares with it or, failing that, by its mean vector), updated in
place, and written only when its evidence changed. A dismissed or accepted suggestion keeps its
status while its cluster recurs, and reopens only when the cluster has grown materially since."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from agents.models import AgentInstance
from analytics.suggestions.edits import edit_url
from analytics.suggestions.evidence import account_evidence
from analytics.suggestions.models import Suggestion, SuggestionRefresh
from analytics.suggestions.proposals import Proposal, centroid_similarity, proposals_for
from escalations.models import LearnedPattern

MATCH_OVERLAP = 0.5  # share of the smaller set of questions two clusters must share to be one
MATCH_CENTROID = 0.85  # or: their mean vectors this close
REGROWTH_SHARE = 0.5  # a decided suggestion reopens when its evidence grows by half...
REGROWTH_MIN = 3  # ...and by at least this many questions
MAX_EVIDENCE_STORED = 500


@dataclass(frozen=True)
class RefreshResult:
    created: int
    updated: int
    reopened: int
    removed: int
    unchanged: int


def _grew_materially(*, decided: int, now: int) -> bool:
    return now >= decided + max(REGROWTH_MIN, math.ceil(decided * REGROWTH_SHARE))


def _stored_ids(suggestion: Suggestion) -> set[int]:
    return {item["message_id"] for item in suggestion.evidence}


def _match(proposal: Proposal, candidates: list[Suggestion], taken: set[int]) -> Suggestion | None:
    if proposal.natural_key:
        return next((s for s in candidates if s.key == proposal.natural_key and s.pk not in taken), None)
    best, best_score = None, (0.0, 0.0)
    for suggestion in candidates:
        if (
            suggestion.pk in taken
            or suggestion.kind != proposal.kind
            or suggestion.agent_id != proposal.agent_id
        ):
            continue
        stored = _stored_ids(suggestion)
        smaller = min(len(stored), len(proposal.message_ids)) or 1
        overlap = len(stored & proposal.message_ids) / smaller
        similarity = centroid_similarity(suggestion.centroid, proposal.centroid)
        if overlap < MATCH_OVERLAP and similarity < MATCH_CENTROID:
            continue
        if (overlap, similarity) > best_score:
            best, best_score = suggestion, (overlap, similarity)
    return best


def _new_key(proposal: Proposal, used: set[str]) -> str:
    if proposal.natural_key:
        return proposal.natural_key
    base = f"{proposal.kind}:{proposal.agent_id or 0}:{proposal.evidence[0].message_id}"
    key, n = base, 1
    while key in used:
        n += 1
        key = f"{base}:{n}"
    return key


def _fields(proposal: Proposal) -> dict:
    newest_first = list(reversed(proposal.evidence))[:MAX_EVIDENCE_STORED]
    return {
        "title": proposal.title[:300],
        "topic": proposal.topic[:200],
        "evidence": [e.as_json() for e in newest_first],
        "evidence_count": len(proposal.evidence),
        "centroid": proposal.centroid,
        "agent_id": proposal.agent_id,
        "from_agent_id": proposal.from_agent_id,
        "pattern_id": proposal.pattern_id,
    }


@transaction.atomic
def suggestions_refresh(*, account_id: int, now: datetime | None = None) -> RefreshResult:
    """Bring the account's suggestions up to date with its last 30 days of evidence."""
    now = now or timezone.now()
    account = Account.objects.get(pk=account_id)
    evidence = account_evidence(account=account, now=now)
    agent_names = dict(AgentInstance.objects.filter(account=account).values_list("pk", "name"))
    problems = dict(LearnedPattern.objects.filter(account=account).values_list("pk", "problem"))
    proposals = proposals_for(evidence, agent_names=agent_names, problems=problems)

    existing = list(Suggestion.objects.select_for_update().filter(account=account).order_by("id"))
    used_keys = {s.key for s in existing}
    taken: set[int] = set()
    created = updated = reopened = unchanged = 0
    for proposal in proposals:
        fields = _fields(proposal)
        suggestion = _match(proposal, existing, taken)
        if suggestion is None:
            key = _new_key(proposal, used_keys)
            used_keys.add(key)
            suggestion = Suggestion.objects.create(
                account=account, kind=proposal.kind, key=key, changed_at=now, **fields
            )
            taken.add(suggestion.pk)
            created += 1
            continue
        taken.add(suggestion.pk)
        changes = {
            name: value
            for name, value in fields.items()
            if name != "centroid" and getattr(suggestion, name) != value
        }
        if changes:
            changes |= {"centroid": fields["centroid"], "changed_at": now}
        if suggestion.status != Suggestion.Status.OPEN and _grew_materially(
            decided=suggestion.decided_count, now=fields["evidence_count"]
        ):
            changes |= {"status": Suggestion.Status.OPEN, "reopened_from": suggestion.decided_count}
            reopened += 1
        if not changes:
            unchanged += 1
            continue
        for name, value in changes.items():
            setattr(suggestion, name, value)
        suggestion.save(update_fields=[*changes])
        updated += 1
    # An open suggestion whose questions are gone (out of the window, or answered since) goes; a
    # decided one stays, so that the decision holds if its cluster comes back.
    stale = [s.pk for s in existing if s.pk not in taken and s.status == Suggestion.Status.OPEN]
    Suggestion.objects.filter(pk__in=stale).delete()
    SuggestionRefresh.objects.update_or_create(
        account=account,
        defaults={
            "refreshed_at": now,
            "questions": evidence.total,
            "open_count": Suggestion.objects.filter(account=account, status=Suggestion.Status.OPEN).count(),
        },
    )
    return RefreshResult(
        created=created, updated=updated, reopened=reopened, removed=len(stale), unchanged=unchanged
    )


def _decide(*, suggestion: Suggestion, user, status: str) -> None:
    suggestion.status = status
    suggestion.decided_count = suggestion.evidence_count
    suggestion.decided_at = timezone.now()
    suggestion.decided_by = user
    suggestion.reopened_from = None
    suggestion.save(update_fields=["status", "decided_count", "decided_at", "decided_by", "reopened_from"])


def suggestion_accept(*, suggestion: Suggestion, user) -> str:
    """Mark it accepted and return the prefilled edit that carries it out."""
    if suggestion.status != Suggestion.Status.ACCEPTED:
        _decide(suggestion=suggestion, user=user, status=Suggestion.Status.ACCEPTED)
    return edit_url(suggestion)


def suggestion_dismiss(*, suggestion: Suggestion, user) -> None:
    _decide(suggestion=suggestion, user=user, status=Suggestion.Status.DISMISSED)


def suggestions_refresh_request(*, account: Account) -> None:
    """Refresh now, on a worker (clustering loads the embedding model, which the web process does not)."""
    from analytics.suggestions.tasks import refresh_account_suggestions

    account_id = account.pk
    transaction.on_commit(lambda: refresh_account_suggestions.delay(account_id))
