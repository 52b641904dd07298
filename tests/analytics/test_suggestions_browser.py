"""An admin in headless Chromium on the suggestions page, at phone and desktop widths: the open
suggestions with their evidence, a dismissal that moves one to Decided, and Accept on a learned
pattern's suggestion landing on that pattern's row."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from analytics.suggestions.services import suggestions_refresh
from tests.analytics.test_suggestions import BADGE, FLIGHTS, QUOTES, Seed
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.stack, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = "/tmp/suggestions-{width}.png"


@pytest.fixture
def seeded(account, make_user):
    """Made before the browser starts: Playwright's sync API runs an event loop in this thread."""
    from accounts.models import Membership

    admin = make_user(account, role=Membership.Role.ADMIN, username="ada")
    seed = Seed(account, admin)
    for question in BADGE:
        seed.to_a_person(question)
    for question in QUOTES:
        seed.misroute(question)
    for question in FLIGHTS:
        seed.out_of_scope(question)
    for question in ("The mobile app logs me out all the time.", "The phone app keeps signing me out."):
        seed.pattern_answer_thumbed_down(question)
    suggestions_refresh(account_id=account.pk, now=timezone.now())
    return seed


def _login(page, base_url: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill('input[name="username"]', "ada")
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')


@pytest.mark.parametrize("width", [390, 1366])
def test_an_admin_reads_dismisses_and_accepts_suggestions(stack, seeded, new_page, width):
    page = new_page(viewport={"width": width, "height": 900})
    _login(page, stack.base_url)
    page.goto(f"{stack.base_url}/analytics/suggestions/")

    open_list = page.locator('ul[aria-label="Open suggestions"] > li.suggestion')
    expect(open_list).to_have_count(4)
    article = page.locator('li.suggestion[data-kind="article"]')
    expect(article).to_contain_text("4 questions about")
    article.locator("summary").click()
    expect(article.locator("a[data-evidence='escalation']")).to_have_count(4)
    # Nothing runs off the side of the page at this width.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=SCREENSHOTS.format(width=width), full_page=True)

    page.locator('li.suggestion[data-kind="scope"] [data-action="dismiss"]').click()
    expect(page.locator(".flash")).to_contain_text("Dismissed")
    expect(open_list).to_have_count(3)
    expect(page.locator('ul[aria-label="Decided suggestions"] li[data-kind="scope"]')).to_have_attribute(
        "data-status", "dismissed"
    )

    page.locator('li.suggestion[data-kind="pattern"] [data-action="accept"]').click()
    expect(page).to_have_url(f"{stack.base_url}/escalations/patterns/#pattern-{seeded.pattern.pk}")
    expect(page.locator(f"#pattern-{seeded.pattern.pk} textarea[name='problem']")).to_be_visible()
