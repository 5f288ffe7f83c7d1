"""The built docs site in a real headless browser: pages render, navigation and search work, the
Mermaid DAG becomes an SVG, and no page logs a console error or fails a request.

Drives Debian's ``/usr/bin/chromium`` through Playwright's Python package (``executable_path``; no
browser download), against the site served from the test's own ``http.server`` on 127.0.0.1.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# mkdocs-material draws each Mermaid diagram into a *closed* shadow root, which no selector can reach;
# opening it (for this test's browser only) lets the test see the SVG the page really rendered.
OPEN_SHADOW_ROOTS = """
const attach = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) { return attach.call(this, { ...init, mode: "open" }); };
"""

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium (.ci/run installs it)"
)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def base_url(built_site: Path) -> Iterator[str]:
    """The site served on 127.0.0.1 on a free port chosen by the OS."""
    handler = functools.partial(_QuietHandler, directory=str(built_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass
class Browser:
    """One page of a fresh Chromium profile, with every console error and failed request it saw."""

    page: Any
    problems: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One Chromium with a fresh profile for the module (starting it costs seconds)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path_factory.mktemp("profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        context.add_init_script(OPEN_SHADOW_ROOTS)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def browser(context: Any) -> Iterator[Browser]:
    """A new page; the test fails if the page logged a console error or a request failed."""
    page = context.new_page()
    seen = Browser(page)
    page.on("console", lambda msg: msg.type == "error" and seen.problems.append(f"console: {msg.text}"))
    page.on("pageerror", lambda exc: seen.problems.append(f"page error: {exc}"))
    page.on("requestfailed", lambda req: seen.problems.append(f"request failed: {req.url}"))
    try:
        yield seen
    finally:
        page.close()
    assert seen.problems == []


HEADING_TEXT = (
    "h => Array.from(h.childNodes).filter(n => !n.classList?.contains('headerlink')).map(n => n.textContent).join('')"
)


def _heading(locator: Any) -> str:
    """A heading's own text, without the permalink sign the toc extension appends."""
    return str(locator.evaluate(HEADING_TEXT)).strip()


def _h1(page: Any) -> str:
    return _heading(page.locator("article h1").first)


def test_home_page_renders(browser: Browser, base_url: str) -> None:
    browser.page.goto(base_url)
    assert _h1(browser.page) == "UET contracts"
    assert browser.page.title() == "UET contracts"


def test_reference_page_renders_fields_and_example(browser: Browser, base_url: str) -> None:
    page = browser.page
    page.goto(base_url + "reference/phase_spec/")
    assert _h1(page) == "PhaseSpec"
    assert page.title() == "PhaseSpec - UET contracts"
    first_field = page.locator("article table").first.locator("tbody tr").first.locator("td").first
    assert first_field.inner_text() == "phase_id"
    assert _heading(page.locator("article h2#example")) == "Example"


def test_navigation_link_opens_the_page(browser: Browser, base_url: str) -> None:
    page = browser.page
    page.goto(base_url)
    page.locator("nav.md-nav--primary a.md-nav__link", has_text="Pipeline I/O contracts").first.click()
    page.wait_for_url(base_url + "contracts/")
    assert page.url == base_url + "contracts/"
    assert _h1(page) == "Pipeline I/O contracts"


def test_search_finds_a_field(browser: Browser, base_url: str) -> None:
    page = browser.page
    page.goto(base_url)
    page.locator("input.md-search__input").click()
    page.keyboard.type("workstream_id")  # typed key by key: the search reacts to key events, not to fill()
    results = page.locator(".md-search-result__item")
    results.first.wait_for(state="visible")
    assert page.locator(".md-search-result__meta").inner_text().endswith("matching documents")
    assert any("workstream_id" in text for text in results.all_inner_texts())
    assert results.locator("a[href*='reference/phase_spec/']").count() >= 1


def test_mermaid_dag_renders_as_svg(browser: Browser, base_url: str) -> None:
    page = browser.page
    page.goto(base_url + "guides/plan-and-run/")
    diagram = page.locator("div.mermaid svg").first
    diagram.wait_for(state="visible")
    # Each node's label is "PHASE_ID<br>title"; its first text node is the phase id.
    labels = diagram.locator("g.node .nodeLabel p").evaluate_all("ps => ps.map(p => p.firstChild.textContent)")
    assert sorted(labels) == ["PH-00", "PH-01A", "PH-01B", "PH-02"]


def test_the_three_tiers_render_as_three_diagrams(browser: Browser, base_url: str) -> None:
    page = browser.page
    page.goto(base_url + "guides/three-tiers/")
    diagrams = page.locator("div.mermaid svg")
    diagrams.nth(2).wait_for(state="visible")
    assert diagrams.count() == 3
    first_lines = "ps => ps.map(p => p.firstChild.textContent)"
    labels = [sorted(diagrams.nth(i).locator("g.node .nodeLabel p").evaluate_all(first_lines)) for i in range(3)]
    assert labels == [
        ["PH-10", "PH-11", "PH-12"],
        ["api", "core", "docs"],
        ["export", "package", "routes", "step/0", "store", "store-tests"],
    ]
    titles = diagrams.nth(2).locator("g.cluster-label").evaluate_all("gs => gs.map(g => g.textContent)")  # SVG
    assert sorted(title.strip() for title in titles) == [
        "PH-10 ws-core-store",
        "PH-11 ws-http-api",
        "PH-12 ws-api-docs",
    ]
