"""The web chat page end to end in headless Chromium (Debian's `chromium`, driven by Playwright).

The app is the real one under a live uvicorn (`live_url` in tests/api/conftest.py: temp data dir,
MiniLM knowledge base over small English playbooks, generated subscribers, keys from the key store).
Playwright only drives the system browser: `playwright install` is never run, no browser is downloaded.
Screenshots go to $RETENTION_SCREENSHOT_DIR (default: the system temp dir) for people to look at.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any, Iterator

import pytest

CHROMIUM = Path(os.environ.get("RETENTION_CHROMIUM", "/usr/bin/chromium"))
SHOTS = Path(os.environ.get("RETENTION_SCREENSHOT_DIR", tempfile.gettempdir()))
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
HANDLE = re.compile(r"\[[0-9a-f]{8}\]")
QUESTION = "A customer has had repeated complaints. How do I handle complaint recovery?"


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory) -> Iterator[Any]:
    """One headless Chromium with a fresh profile (--user-data-dir), English UI, laptop viewport."""
    if not CHROMIUM.is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's browser with "
                    "`apt-get install -y chromium chromium-driver` (or set RETENTION_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the browser test needs Playwright: pip install -e '.[dev]' (never `playwright install`)")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM), headless=True,
            args=FLAGS, viewport={"width": 1366, "height": 860}, locale="en-US", timezone_id="UTC",
        )
        context.set_default_timeout(20_000)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture()
def page(browser_context) -> Iterator[Any]:
    """A new tab with an empty localStorage; page errors and console errors fail the test."""
    tab = browser_context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    tab.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)
    yield tab
    tab.close()
    # HTTP errors the page handles (401 of a wrong key, 404 of a deleted conversation) are logged by
    # Chromium as "Failed to load resource"; they are not faults of the page.
    real = [p for p in problems if "Failed to load resource" not in p]
    assert not real, real


def sign_in(page: Any, url: str, key: str, role: str = "agent") -> None:
    """Open the page on a clean profile and enter the key (and the role it was made for) in the key dialog."""
    page.goto(url + "/")
    page.evaluate("localStorage.clear()")
    page.reload()
    dialog = page.locator("#key-dialog")
    dialog.wait_for(state="visible")
    page.fill("#key-input", key)
    page.select_option("#role-select", role)  # what the page shows until GET /v1/me confirms the key's role
    page.click("#key-save")
    dialog.wait_for(state="hidden")
    page.wait_for_function("document.getElementById('role-badge').dataset.role === %r" % role)


def watch_answers(page: Any) -> None:
    """Record each assistant message's data-state changes (waiting -> streaming -> done)."""
    page.evaluate("""() => {
      window.__states = [];
      new MutationObserver((records) => {
        for (const r of records) if (r.attributeName === 'data-state') window.__states.push(r.target.dataset.state);
      }).observe(document.getElementById('messages'), {subtree: true, attributes: true, attributeFilter: ['data-state']});
    }""")


def ask(page: Any, question: str, subscriber: str = "") -> Any:
    """Type a question (and a subscriber id), press Enter, and wait for the streamed answer to finish."""
    before = page.locator(".msg-assistant").count()
    if subscriber:
        page.fill("#subscriber-input", subscriber)
    page.fill("#composer-input", question)
    with page.expect_response(lambda r: r.url.endswith("/v1/chat")) as response:
        page.press("#composer-input", "Enter")
    assert "text/event-stream" in response.value.headers.get("content-type", "")
    message = page.locator(".msg-assistant").nth(before)
    page.wait_for_function(
        "(n) => { const m = document.querySelectorAll('.msg-assistant')[n];"
        " return m && ['done', 'failed'].includes(m.dataset.state); }", arg=before)
    assert message.get_attribute("data-state") == "done", message.inner_text()
    return message


def test_question_streams_an_answer_whose_citation_chip_opens_the_passage(page, live_url, keys):
    sign_in(page, live_url, keys["agent"])
    assert page.locator("#role-text").inner_text() == "Agent"

    watch_answers(page)
    message = ask(page, QUESTION)

    states = page.evaluate("window.__states")
    assert "streaming" in states and states.index("streaming") < states.index("done"), states
    assert int(message.get_attribute("data-tokens")) > 1  # the answer came as several token events
    answer = message.locator(".answer-body").inner_text()
    assert len(answer) > 40, answer
    assert message.locator(".answer-body").get_attribute("aria-live") == "polite"

    chips = message.locator(".sources .chip")
    assert chips.count() >= 1
    chip_text = chips.first.inner_text()
    assert HANDLE.search(chip_text) and ".md" in chip_text, chip_text
    chips.first.click()
    panel = page.locator("#cite-dialog")
    panel.wait_for(state="visible")
    assert page.locator("#cite-title").inner_text() == HANDLE.search(chip_text).group(0)
    assert page.locator("#cite-source").inner_text().endswith(".md")
    passage = page.locator("#cite-text").inner_text()
    assert len(passage) > 30 and "complaint" in passage.lower(), passage
    page.screenshot(path=str(SHOTS / "retention-web-citation.png"))
    page.keyboard.press("Escape")
    panel.wait_for(state="hidden")

    # The tool trace opens; feedback reaches the server; the conversation is listed as ours.
    trace = message.locator(".tool-trace")
    if trace.is_visible():
        trace.locator("summary").click()
        assert trace.locator(".tool-name").first.is_visible()
    message.get_by_role("button", name="Helpful", exact=True).click()
    page.get_by_text("Thanks for the feedback!").wait_for()
    page.locator("#conversation-list .conversation").first.wait_for()
    page.screenshot(path=str(SHOTS / "retention-web-desktop.png"))


def test_subscriber_card_and_narrow_screen_without_horizontal_scroll(page, live_url, keys, subscriber):
    page.set_viewport_size({"width": 375, "height": 740})
    sign_in(page, live_url, keys["agent"])
    message = ask(page, "How do I handle this customer?", subscriber=subscriber["id"])

    card = message.locator(".subscriber-card")
    card.wait_for()
    assert subscriber["id"] in card.inner_text()
    gauge = card.locator("[role=meter]")
    assert 0 <= int(gauge.get_attribute("aria-valuenow")) <= 100
    assert page.locator("#focus-id").inner_text() == subscriber["id"]

    widths = page.evaluate("""() => ({
      doc: [document.documentElement.scrollWidth, document.documentElement.clientWidth],
      log: [document.getElementById('messages').scrollWidth, document.getElementById('messages').clientWidth],
    })""")
    assert widths["doc"][0] <= widths["doc"][1], widths
    assert widths["log"][0] <= widths["log"][1], widths
    page.screenshot(path=str(SHOTS / "retention-web-narrow.png"))
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "retention-web-narrow-card.png"))

    # The conversation list is a drawer behind the menu button on a phone.
    assert not page.locator("#sidebar").is_visible()
    page.click("#nav-toggle")
    page.locator("#conversation-list .conversation").first.wait_for(state="visible")
    page.keyboard.press("Escape")


def test_interface_switches_language_and_renders_untrusted_text_as_text(page, live_url, keys):
    sign_in(page, live_url, keys["trainee"], role="trainee")
    assert page.locator("#role-text").inner_text() == "Trainee"
    assert not page.locator("#subscriber-field").is_visible()  # trainees never look up real records
    message = ask(page, "How do I reactivate silent customers?")
    assert message.locator(".sources .label").inner_text() == "Sources"
    page.click("#lang-toggle")
    assert page.locator(".brand h1").inner_text() == "维系助手"
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert page.locator("#role-text").inner_text() == "培训学员"
    assert message.locator(".sources .label").inner_text() == "引用"  # answers already shown are relabelled
    assert message.locator(".who").inner_text() == "助手"

    checks = page.evaluate("""async () => {
      const md = await import('/markdown.js');
      const i18n = await import('/i18n.js');
      const html = md.renderMarkdown('<img src=x onerror=alert(1)> **bold** [a1b2c3d4]\\n\\n| a | b |\\n|---|---|\\n| 1 | <b>2</b> |');
      const zh = Object.keys(i18n.DICTIONARIES.zh).sort(), en = Object.keys(i18n.DICTIONARIES.en).sort();
      return {html, sameKeys: JSON.stringify(zh) === JSON.stringify(en)};
    }""")
    assert "<img" not in checks["html"] and "&lt;img" in checks["html"]
    assert "<b>" not in checks["html"] and "<strong>bold</strong>" in checks["html"]
    assert 'data-cite="a1b2c3d4"' in checks["html"] and "<table>" in checks["html"]
    assert checks["sameKeys"]


def test_conversations_reopen_after_reload_and_can_be_deleted(page, live_url, keys):
    sign_in(page, live_url, keys["supervisor"], role="supervisor")
    ask(page, "How should I call customers whose contract ends soon?")
    page.reload()  # the key stays in localStorage; the conversation comes back from the server
    items = page.locator("#conversation-list .conversation")
    items.first.wait_for()
    count = items.count()
    items.first.locator(".conversation-open").click()
    reopened = page.locator(".msg-assistant").first
    reopened.wait_for()
    assert page.locator(".msg-user").first.inner_text().strip().endswith("contract ends soon?")
    assert reopened.locator(".sources .chip").count() >= 1
    reopened.locator(".sources .chip").first.click()
    page.locator("#cite-dialog").wait_for(state="visible")
    assert len(page.locator("#cite-text").inner_text()) > 30
    page.click("#cite-close")

    page.once("dialog", lambda d: d.accept())
    items.first.locator(".conversation-delete").click()
    page.wait_for_function("(n) => document.querySelectorAll('#conversation-list .conversation').length === n",
                           arg=count - 1)
    assert page.locator("#welcome").is_visible()


def test_a_wrong_key_reopens_the_key_dialog_with_the_reason(page, live_url):
    page.goto(live_url + "/")
    page.evaluate("localStorage.clear()")
    page.reload()
    page.fill("#key-input", "rk_nope_wrong")
    page.click("#key-save")
    error = page.locator("#key-error")
    error.wait_for(state="visible")
    assert "invalid" in error.inner_text().lower()
    page.click("#key-clear")
    assert page.evaluate("localStorage.getItem('retention.apiKey')") is None


def test_practice_view_plays_a_call_and_shows_the_graded_rubric(page, live_url, keys):
    import yaml

    doc = Path(__file__).resolve().parents[1] / "data" / "transcripts" / "renewal-en-2-flawed.yaml"
    lines = [t["text"] for t in yaml.safe_load(doc.read_text(encoding="utf-8"))["turns"] if t["speaker"] == "trainee"]
    sign_in(page, live_url, keys["trainee"], role="trainee")
    page.click("#practice-button")
    page.locator("#practice-dialog").wait_for(state="visible")
    assert page.locator("#practice-scenario option").count() == 8  # random + the seven scenarios
    page.select_option("#practice-scenario", "renewal")
    page.select_option("#practice-lang", "en")
    page.fill("#practice-seed", "2")
    page.click("#practice-start")
    customer = page.locator(".practice-line.customer")
    customer.first.wait_for()
    assert customer.first.inner_text().endswith("Hello? Who's this?")
    assert "450" in page.locator("#practice-card").inner_text()  # the persona's real total cap
    for line in lines:
        count = page.locator(".practice-line").count()
        page.fill("#practice-input", line)
        page.press("#practice-input", "Enter")
        page.wait_for_function("(n) => document.querySelectorAll('.practice-line').length === n", arg=count + 2)
        if page.locator("#practice-status").is_visible():
            break
    assert page.locator(".practice-line.trainee").count() == len(lines)
    page.click("#practice-finish")
    grade = page.locator("#practice-grade")
    grade.wait_for(state="visible")
    assert float(page.locator("#practice-total").inner_text()) < 100
    verification = grade.locator(".practice-criterion[data-code='verification']")
    assert verification.get_attribute("data-status") == "missed"
    assert "missing_verification" in verification.inner_text()
    offer = grade.locator(".practice-criterion[data-code='offer']")
    assert "store-value" in offer.locator(".practice-evidence").first.inner_text()
    cite = offer.locator(".practice-cite").first
    cite.locator("summary").click()
    assert len(cite.locator("p").inner_text()) > 30  # the playbook passage the criterion rests on
    assert page.locator(".practice-plan li").count() >= 1
    page.screenshot(path=str(SHOTS / "practice-graded.png"), full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("() => { const d = document.getElementById('practice-dialog');"
                         " return d.scrollWidth <= d.clientWidth + 1; }")
    page.locator("#practice-log").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "practice-narrow.png"))
    page.click("#practice-close")
    page.locator("#practice-dialog").wait_for(state="hidden")
