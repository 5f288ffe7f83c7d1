"""The built docs site in a real headless browser: pages render, navigation and search work, the
Mermaid DAG becomes an SVG, and no page logs a console error or fails a request.

Drives Debian's ``/usr/bin/chromium`` through Playwright's Python package (``executable_path``; no
browser download), against the site served from the test's own ``http.server`` on 127.0.0.1.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from uet_contracts import CONTRACTS

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

# In CI (CI is set, as .ci/run has it) a missing browser is a failure, not a skip.
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason="the browser tests need Debian's chromium at /usr/bin/chromium: install it with apt-get install chromium",
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
    assert first_field.inner_text() == "phase_id\nrequired"
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


# -- pages that fit ------------------------------------------------------------------------------------------

# The pages whose tables and code blocks must fit their column on a laptop screen.
FITTING_PAGES = [
    "reference/",
    *(f"reference/{contract.kind}/" for contract in CONTRACTS),
    "reference/common/",
    "cli/",
    "json-output/",
    "contracts/",
    "architecture/",
    *(f"guides/{page.stem}/" for page in sorted((REPO_ROOT / "docs" / "guides").glob("*.md"))),
]
# What overflows in a page: a table wider than its scroll box, a code block wider than itself, or code
# in a table's first columns split inside a word (an identifier cut in two: "step_attemp ts").
OVERFLOWS = """() => {
  const where = e => (e.innerText || '').trim().split('\\n')[0].slice(0, 60);
  const found = [];
  for (const table of document.querySelectorAll('article table')) {
    const box = table.closest('.md-typeset__scrollwrap') || table.parentElement;
    if (table.scrollWidth > box.clientWidth + 1) {
      found.push(`table ${table.scrollWidth}px in ${box.clientWidth}px: ${where(table)}`);
    }
    for (const code of table.querySelectorAll('td:not(:last-child) code')) {
      if (!/\\s/.test(code.textContent) && code.getClientRects().length > 1) {
        found.push(`split identifier: ${code.textContent}`);
      }
    }
  }
  for (const code of document.querySelectorAll('article pre > code')) {
    if (code.scrollWidth > code.clientWidth + 1) {
      found.push(`code block ${code.scrollWidth}px in ${code.clientWidth}px: ${where(code)}`);
    }
  }
  return found;
}"""


@pytest.mark.parametrize("width", [1280, 1400])
def test_tables_and_code_blocks_fit_their_column(context: Any, base_url: str, width: int) -> None:
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    try:
        problems = {}
        for path in FITTING_PAGES:
            response = page.goto(base_url + path)
            assert response is not None and response.ok, path
            found = page.evaluate(OVERFLOWS)
            if found:
                problems[path] = found
    finally:
        page.close()
    assert problems == {}


def test_the_overflow_check_sees_a_table_that_is_too_wide(context: Any, base_url: str) -> None:
    page = context.new_page()
    try:
        page.goto(base_url + "reference/phase_spec/")
        page.evaluate("() => { document.querySelector('article td:last-child').style.minWidth = '3000px'; }")
        page.evaluate(
            "() => { document.querySelector('article pre > code').style.whiteSpace = 'pre'; "
            "document.querySelector('article pre > code').textContent = 'x'.repeat(400); }"
        )
        found = page.evaluate(OVERFLOWS)
    finally:
        page.close()
    assert [line.split(" ")[0] for line in found] == ["table", "code"]


# Mermaid draws a diagram at its natural size and the page scales it down to the column; a wide diagram
# shrinks its labels until nobody can read them.
LABEL_SIZES = """() => Array.from(document.querySelectorAll('div.mermaid')).map(holder => {
  const svg = (holder.shadowRoot || holder).querySelector('svg');
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  return Array.from(svg.querySelectorAll('.nodeLabel, .edgeLabel')).map(
    label => [label.textContent.trim(), parseFloat(getComputedStyle(label).fontSize) * scale]);
})"""
SMALLEST_LABEL_PX = 12


@pytest.mark.parametrize("path", ["contracts/", "architecture/", "guides/plan-and-run/"])
def test_diagram_labels_are_readable(browser: Browser, base_url: str, path: str) -> None:
    page = browser.page
    page.goto(base_url + path)
    page.locator("div.mermaid svg").first.wait_for(state="visible")
    diagrams = page.evaluate(LABEL_SIZES)
    assert diagrams and all(diagrams)
    small = [
        (text, round(size, 1)) for labels in diagrams for text, size in labels if text and size < SMALLEST_LABEL_PX
    ]
    assert small == []
