"""A learned pattern is drafted from the resolution note (not the operator's chat replies),
the operator edits it before submitting, and an admin edits it before approving."""

import pytest
from django.utils.html import escape

from escalations.models import LearnedPattern
from escalations.services import policy_for_account
from escalations.triggers import reply_inspect
from tests.escalations.conftest import chat_turn, client_for, climb

pytestmark = pytest.mark.django_db(transaction=True)

HX = {"HTTP_HX_REQUEST": "true"}
NOTE = "The VPN certificate had expired; reissued it from the portal and the user reconnected."


@pytest.fixture
def resolved(account, member, agents, operator, operator_client):
    policy = policy_for_account(account_id=account.pk)
    policy.research_enabled = policy.consultation_enabled = False
    policy.save()
    reply = chat_turn(account, member, "My VPN drops every minute. || @assistant: say I don't know.")
    escalation = climb(reply_inspect(reply_id=reply.pk))
    operator_client.post(f"/escalations/{escalation.pk}/claim/", **HX)
    progress = {"content": "We are looking at the VPN now."}
    operator_client.post(f"/escalations/{escalation.pk}/reply/", progress, **HX)
    operator_client.post(f"/escalations/{escalation.pk}/resolve/", {"note": NOTE}, **HX)
    escalation.refresh_from_db()
    assert escalation.status == "resolved"
    return escalation


def test_the_draft_offered_is_the_request_and_the_resolution_note(resolved, operator_client):
    html = operator_client.get(f"/escalations/{resolved.pk}/").content.decode()
    form = html[html.index('class="pattern-form"') :]
    form = form[: form.index("</form>")]
    assert NOTE in form and "We are looking at the VPN now." not in form
    assert escape(resolved.question) in form
    # Promoted without edits (the API's default too), the fix is the note.
    assert operator_client.post(f"/escalations/{resolved.pk}/promote/", **HX).status_code == 200
    pattern = LearnedPattern.objects.get()
    assert (pattern.problem, pattern.fix, pattern.source_escalation) == (resolved.question, NOTE, resolved)


def test_the_operator_edits_before_submitting(resolved, operator_client):
    edited = {"problem": "VPN disconnects every minute", "fix": "Reissue the VPN certificate."}
    assert operator_client.post(f"/escalations/{resolved.pk}/promote/", edited, **HX).status_code == 200
    pattern = LearnedPattern.objects.get()
    assert (pattern.problem, pattern.fix, pattern.status) == (edited["problem"], edited["fix"], "draft")
    # The escalation links to its pattern and the patterns page back to the escalation.
    assert f"pattern #{pattern.pk}" in operator_client.get(f"/escalations/{resolved.pk}/").content.decode()
    patterns = operator_client.get("/escalations/patterns/").content.decode()
    assert f'data-source-escalation="{resolved.pk}"' in patterns


def test_an_empty_fix_is_refused_with_a_message(resolved, operator_client):
    empty_fix = {"problem": "x", "fix": "  "}
    response = operator_client.post(f"/escalations/{resolved.pk}/promote/", empty_fix, **HX)
    assert response.status_code == 400 and "Say what fixed it." in response.content.decode()
    assert not LearnedPattern.objects.exists()


def test_the_admin_edits_before_approving(resolved, operator_client, admin_user):
    operator_client.post(f"/escalations/{resolved.pk}/promote/", **HX)
    pattern = LearnedPattern.objects.get()
    admin = client_for(admin_user)
    assert 'name="fix"' in admin.get("/escalations/patterns/").content.decode()
    # An operator may not edit, an admin may (saving keeps it a draft)...
    edit = {"problem": "VPN keeps dropping", "fix": "Reissue the certificate."}
    assert operator_client.post(f"/escalations/patterns/{pattern.pk}/edit/", edit, **HX).status_code == 403
    saved = admin.post(f"/escalations/patterns/{pattern.pk}/edit/", edit, **HX)
    assert saved.status_code == 200 and "Reissue the certificate." in saved.content.decode()
    pattern.refresh_from_db()
    assert (pattern.problem, pattern.fix, pattern.status) == (edit["problem"], edit["fix"], "draft")
    # ...and approving sends the words as they stand in the row.
    final = {"problem": "VPN keeps dropping", "fix": "Reissue the VPN certificate, then reconnect."}
    assert admin.post(f"/escalations/patterns/{pattern.pk}/approve/", final, **HX).status_code == 200
    pattern.refresh_from_db()
    assert (pattern.fix, pattern.status, pattern.approved_by) == (final["fix"], "approved", admin_user)
