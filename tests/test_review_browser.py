"""End-to-end tests of the review page in Debian's Chromium through Playwright."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from store.models import AuditEvent, Story, TagRow
from tests.fixtures.browser import ReviewSite, artifact_path

pytestmark = pytest.mark.browser


def log_in(page: Any, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/queue")
    assert "/login" in page.url
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/queue")


def status_of(site: ReviewSite, story_id: int) -> str:
    with site.app.db.read() as session:
        return session.get(Story, story_id).status


def test_login_and_queue(
    browser_page: Any, review_server: str, review_site: ReviewSite
) -> None:
    page = browser_page
    page.goto(f"{review_server}/login")
    page.fill("input[name=email]", review_site.curator_email)
    page.fill("input[name=password]", "wrong password here")
    page.click("button[type=submit]")
    assert page.locator("p.error").inner_text() == "Wrong email address or password."

    log_in(page, review_server, review_site.curator_email, review_site.password)
    rows = page.locator("tr.story-row")
    assert rows.count() == 32
    assert (
        page.locator("header.top .who")
        .inner_text()
        .startswith(review_site.curator_email)
    )
    page.screenshot(path=str(artifact_path("review-queue.png")), full_page=True)
    assert page.errors == []


def test_filter_by_person_and_text(
    browser_page: Any, review_server: str, review_site: ReviewSite
) -> None:
    page = browser_page
    log_in(page, review_server, review_site.curator_email, review_site.password)
    page.fill("input[name=person]", "okafor")
    page.click("form#filters button[type=submit]")
    page.wait_for_url("**person=okafor**")
    rows = page.locator("tr.story-row")
    assert rows.count() == 1
    assert rows.first.get_attribute("data-story-id") == str(
        review_site.story_ids["okafor"]
    )

    page.goto(f"{review_server}/queue")
    page.select_option("select[name=source]", "inbox")
    page.click("form#filters button[type=submit]")
    page.wait_for_url("**source=inbox**")
    assert page.locator("tr.story-row").count() == 1


def test_approve_and_reject_with_keys(
    browser_page: Any, review_server: str, review_site: ReviewSite
) -> None:
    page = browser_page
    log_in(page, review_server, review_site.curator_email, review_site.password)
    rows = page.locator("tr.story-row")
    first_id = int(rows.nth(0).get_attribute("data-story-id"))
    second_id = int(rows.nth(1).get_attribute("data-story-id"))
    third_id = int(rows.nth(2).get_attribute("data-story-id"))
    assert "selected" in rows.nth(0).get_attribute("class")

    page.keyboard.press("a")
    page.wait_for_selector(
        f'tr.story-row[data-story-id="{first_id}"][data-status="approved"]'
    )
    assert status_of(review_site, first_id) == "approved"
    assert "selected" in rows.nth(1).get_attribute("class")

    page.keyboard.press("j")
    page.keyboard.press("k")
    page.keyboard.press("r")
    page.keyboard.type("Not about a teacher")
    page.keyboard.press("Enter")
    page.wait_for_selector(
        f'tr.story-row[data-story-id="{second_id}"][data-status="rejected"]'
    )
    assert status_of(review_site, second_id) == "rejected"

    # A rejection without a reason fails on the server, and the row shows the error.
    page.locator("tr.story-row.selected input.reason").focus()
    page.keyboard.press("Enter")
    message = page.locator(f'tr.story-row[data-story-id="{third_id}"] .row-message')
    message.wait_for(state="visible")
    assert "needs a reason" in message.inner_text()
    assert status_of(review_site, third_id) == "pending"

    page.keyboard.press("Escape")
    page.keyboard.press("e")
    page.wait_for_url(f"**/stories/{third_id}#edit")
    assert page.errors == []


def test_bulk_reject(
    browser_page: Any, review_server: str, review_site: ReviewSite
) -> None:
    page = browser_page
    log_in(page, review_server, review_site.curator_email, review_site.password)
    chosen = [review_site.story_ids[f"filler{index}"] for index in (3, 4, 5)]
    for story_id in chosen:
        page.check(f'tr.story-row[data-story-id="{story_id}"] input.pick')
    page.fill("form#bulk-form input[name=reason]", "Spam run")
    page.click("form#bulk-form button[value=reject]")
    page.wait_for_load_state()

    assert [status_of(review_site, story_id) for story_id in chosen] == ["rejected"] * 3
    for story_id in chosen:
        assert page.locator(f'tr.story-row[data-story-id="{story_id}"]').count() == 0
    with review_site.app.db.read() as session:
        reasons = set(
            session.scalars(select(Story.status_reason).where(Story.id.in_(chosen)))
        )
    assert reasons == {"Spam run"}


def test_tag_correction_and_audit_trail(
    browser_page: Any, review_server: str, review_site: ReviewSite
) -> None:
    page = browser_page
    story_id = review_site.story_ids["okafor"]
    log_in(page, review_server, review_site.curator_email, review_site.password)
    page.goto(f"{review_server}/stories/{story_id}")
    assert page.locator("#story-text mark.tag-person").all_inner_texts() == [
        "Mrs Okafor",
        "Ambition Institute",
    ]

    with review_site.app.db.read() as session:
        tag_id = session.scalar(
            select(TagRow.id).where(
                TagRow.story_id == story_id, TagRow.text == "Ambition Institute"
            )
        )
    row = page.locator(f'tr.tag-row[data-tag-id="{tag_id}"]')
    row.locator("select[name=kind]").select_option("training")
    row.locator("input[name=name]").fill("Ambition Institute")
    row.locator("form.correct-tag button[type=submit]").click()
    page.wait_for_load_state()

    assert page.locator("#story-text mark.tag-training").all_inner_texts() == [
        "NPQH",
        "Ambition Institute",
    ]
    page.keyboard.press("a")
    page.wait_for_selector("#story-status.badge-approved")

    trail = page.locator("#trail tr.event")
    assert trail.nth(0).get_attribute("data-action") == "approve"
    assert trail.nth(1).get_attribute("data-action") == "correct_tag"
    assert review_site.curator_email in trail.nth(1).inner_text()
    assert '"kind": "person"' in trail.nth(1).inner_text()
    assert '"kind": "training"' in trail.nth(1).inner_text()
    with review_site.app.db.read() as session:
        actions = list(
            session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.story_id == story_id)
                .order_by(AuditEvent.id)
            )
        )
    assert actions == ["correct_tag", "approve"]


def test_add_tag_from_selection(
    browser_page: Any, review_server: str, review_site: ReviewSite
) -> None:
    page = browser_page
    story_id = review_site.story_ids["approved"]
    log_in(page, review_server, review_site.curator_email, review_site.password)
    page.goto(f"{review_server}/stories/{story_id}")
    # Select the word "maths" inside the last plain segment of the text.
    page.evaluate(
        """() => {
            const span = [...document.querySelectorAll('#story-text span')].pop();
            const node = span.firstChild;
            const start = node.textContent.indexOf('maths');
            const range = document.createRange();
            range.setStart(node, start);
            range.setEnd(node, start + 5);
            window.getSelection().removeAllRanges();
            window.getSelection().addRange(range);
            span.dispatchEvent(new MouseEvent('mouseup', {bubbles: true}));
        }"""
    )
    assert page.input_value("#add-tag-phrase") == "maths"
    assert page.input_value("#add-tag-start") == "24"
    page.check("#add-tag input[name=pupil]")
    page.click("#add-tag button[type=submit]")
    page.wait_for_load_state()
    assert "maths" in page.locator("#story-text mark.pupil").all_inner_texts()


def test_script_payload_shown_as_text(
    browser_page: Any, review_server: str, review_site: ReviewSite
) -> None:
    page = browser_page
    story_id = review_site.story_ids["hostile"]
    log_in(page, review_server, review_site.curator_email, review_site.password)
    page.goto(f"{review_server}/stories/{story_id}")
    page.click("details summary")
    page.wait_for_timeout(300)

    assert (
        "<script>window.__pwned = 1</script>"
        in page.locator("#story-text").inner_text()
    )
    assert (
        page.locator("#story-subject").inner_text()
        == "<script>window.__pwned = 4</script>"
    )
    assert 'onerror="window.__pwned = 3"' in page.locator("#story-author").inner_text()
    assert page.evaluate("() => window.__pwned") is None
    assert page.locator("#story-text img").count() == 0
    assert page.locator("a[href^='javascript:']").count() == 0
    frame = page.locator("iframe.email-html")
    assert frame.get_attribute("sandbox") == ""

    page.goto(f"{review_server}/queue")
    assert page.evaluate("() => window.__pwned") is None
    assert page.errors == []


def test_dashboard_screenshot(
    browser_page: Any, review_server: str, review_site: ReviewSite
) -> None:
    page = browser_page
    log_in(page, review_server, review_site.curator_email, review_site.password)
    page.goto(f"{review_server}/dashboard")
    assert page.locator("svg.chart").count() == 4
    assert "Mr Patel" in page.locator("#chart-people").inner_text()
    page.screenshot(path=str(artifact_path("review-dashboard.png")), full_page=True)
    assert page.errors == []
