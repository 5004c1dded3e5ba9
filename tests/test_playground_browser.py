"""The playground page in real headless Chromium against a real server on 127.0.0.1."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from zeroclass.server import ServerSettings, create_app

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip("Debian's chromium is not installed (apt-get install chromium; `make chromium`)", allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="playwright's Python package is not installed (zeroclass[test])")


@pytest.fixture(scope="module")
def server_url(tiny_classifier):
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(tiny_classifier, ServerSettings()), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "server not ready"
        time.sleep(0.05)
    yield url
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server_url):
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    remote: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(server_url) else remote.append(r.url))
    page.goto(server_url + "/")
    yield page
    assert remote == [], f"the page reached outside the server: {remote}"
    context.close()


def bars(page) -> list[tuple[str, float]]:
    rows = page.locator("#bars .bar-row")
    return [(r.get_attribute("data-label"), float(r.get_attribute("data-score"))) for r in rows.all()]


def add_labels(page, typed: str) -> None:
    page.click("#label-input")
    page.keyboard.type(typed)
    page.keyboard.press("Enter")


def test_classify_multi_label_explain_and_screenshot(page, tiny_classifier, tmp_path):
    text = "the world is so big and i want to go and see it"
    page.fill("#text", text)
    add_labels(page, "travel, home，technology")  # English and Chinese commas
    assert page.locator("#tags .tag span").all_inner_texts() == ["travel", "home", "technology"]
    page.click("#classify")
    page.wait_for_selector("#bars .bar-row")
    expected = tiny_classifier(text, ["travel", "home", "technology"])
    shown = bars(page)
    assert [label for label, _ in shown] == expected["labels"]
    assert [score for _, score in shown] == pytest.approx(expected["scores"], abs=1e-5)
    assert [s for _, s in shown] == sorted((s for _, s in shown), reverse=True)
    widths = page.locator("#bars .bar-fill").evaluate_all("els => els.map(e => e.getBoundingClientRect().width)")
    assert widths == sorted(widths, reverse=True) and widths[0] > widths[-1]
    assert page.locator(".threshold").count() == 0

    page.click("label.switch:has(#multi-label)")
    page.click("label.switch:has(#explain)")
    page.click("#classify")
    page.wait_for_selector(".threshold")
    expected = tiny_classifier(text, ["travel", "home", "technology"], multi_label=True, explain=True)
    assert [s for _, s in bars(page)] == pytest.approx(expected["scores"], abs=1e-5)
    assert page.locator(".threshold").count() == 3
    track = page.locator(".bar-track").first.bounding_box()
    line = page.locator(".threshold").first.bounding_box()
    assert abs(line["x"] - (track["x"] + track["width"] / 2)) <= 2  # the 0.5 line is at the middle
    rows = page.locator("#explain-table tbody tr")
    assert rows.count() == 3
    first = rows.first.locator("td").all_inner_texts()
    info = expected["explanation"][0]
    assert first[:2] == [info["label"], info["hypothesis"]]
    assert [float(x) for x in first[2:]] == pytest.approx([info["entailment"], info["neutral"], info["contradiction"]], abs=1e-3)
    page.screenshot(path=str(tmp_path / "playground.png"), full_page=True)
    assert (tmp_path / "playground.png").stat().st_size > 10_000


def test_api_error_is_shown_readably(page):
    page.fill("#text", "some text")
    add_labels(page, "a,b")
    page.fill("#template", "no placeholder here")
    page.click("#classify")
    error = page.locator("#error")
    error.wait_for(state="visible")
    assert error.inner_text().startswith("Error 422: hypothesis_template 'no placeholder here' must contain exactly one {}")
    assert page.locator("#results").is_hidden()


def test_chinese_preset_and_tag_editing(page, tiny_classifier):
    page.click("#presets button:has-text('世界那么大')")
    page.wait_for_selector("#bars .bar-row")
    expected = tiny_classifier("世界那么大，我想去看看", ["家居", "旅游", "科技"])
    assert [label for label, _ in bars(page)] == expected["labels"]
    page.click("#tags .tag:has-text('科技') button")
    page.click("#label-input")
    page.keyboard.press("Backspace")  # on an empty input: removes the last tag
    assert page.locator("#tags .tag span").all_inner_texts() == ["家居"]


def test_phone_width(browser, server_url, tmp_path):
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(server_url + "/")
    page.click("#presets button:has-text('Phone review')")
    page.wait_for_selector(".threshold")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, "the page scrolls sideways on a phone"
    for selector in ("#text", "#tags", "#classify", "#bars"):
        box = page.locator(selector).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360, selector
    page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
    context.close()
