import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from accounts.models import Account, Membership
from agents.models import AgentInstance, KnowledgeArticle
from demo.seed import DEMO_PASSWORD

pytestmark = pytest.mark.django_db


def test_seed_demo_refuses_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="refuses to run with DEBUG off"):
        call_command("seed_demo")
    assert not Account.objects.exists()


def test_seed_demo_creates_the_demo_account_and_is_idempotent(settings):
    settings.DEBUG = True
    call_command("seed_demo")
    call_command("seed_demo")
    account = Account.objects.get(slug="demo")
    roles = dict(Membership.objects.filter(account=account).values_list("user__username", "role"))
    assert roles == {"admin": "admin", "operator": "operator", "member": "member"}
    # django-axes counts login attempts per request, so authenticating needs one.
    login = RequestFactory().post("/accounts/login/")
    assert authenticate(login, username="member", password=DEMO_PASSWORD) is not None
    assert KnowledgeArticle.objects.filter(account=account).count() == 12
    agents = dict(AgentInstance.objects.filter(account=account).values_list("slug", "is_default"))
    assert agents == {
        "assistant": True,  # the legacy single agent
        **dict.fromkeys(
            ["consultant", "solution_architect", "implementation", "support", "sales", "research"], False
        ),
    }


def test_seed_demo_can_be_forced_with_debug_off(settings):
    settings.DEBUG = False
    call_command("seed_demo", "--force")
    assert Account.objects.filter(slug="demo").exists()
