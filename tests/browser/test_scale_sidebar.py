"""The sidebar's first page of a notebook with 2,000 snapshots, timed in the browser.

Long campaign: ``pytest --run-slow -s tests/browser/test_scale_sidebar.py`` prints
the timings. Times are taken in the page (``performance.now()``): from the
pointer going down on a tab to the first row of the list being in view.
"""

from __future__ import annotations

import statistics

import nbformat
import pytest
from playwright.sync_api import Page, expect

from ..big_store import build_big_store
from .conftest import Lab
from .test_sidebar import SIDEBAR_TAB, items, open_notebook

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(1800)]

N = 2_000

#: Set up before a click: the time of the next pointerdown, and of the first visible
#: row whose message contains ``want`` (and of the frame painted after it).
WATCH = """(want) => {
  const t = (window.__mlvcTimes = {});
  document.addEventListener('pointerdown', () => { t.down = performance.now(); },
                            { capture: true, once: true });
  const row = () => {
    const el = document.querySelector('#jp-mlvc-sidebar .jp-mlvc-item .jp-mlvc-message');
    return el && el.offsetParent !== null && el.textContent.includes(want);
  };
  const observer = new MutationObserver(() => {
    if (t.down !== undefined && row()) {
      t.rows = performance.now();
      observer.disconnect();
      requestAnimationFrame(() => { t.painted = performance.now(); });
    }
  });
  observer.observe(document.body,
                   { childList: true, subtree: true, attributes: true, characterData: true });
}"""


def click_and_time(page: Page, selector: str, want: str) -> float:
    """Milliseconds from clicking ``selector`` to a painted row that says ``want``."""
    page.evaluate(WATCH, want)
    page.click(selector)
    page.wait_for_function("() => window.__mlvcTimes.painted !== undefined", timeout=30_000)
    times = page.evaluate("() => window.__mlvcTimes")
    return times["painted"] - times["down"]


def test_first_page_of_2000_snapshots(lab: Lab, page: Page):
    seconds = build_big_store(lab.root, N)
    small = nbformat.v4.new_notebook()
    small.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(small, lab.root / "small.ipynb")
    open_notebook(lab, page, "big.ipynb")

    # Opening the panel (it lists the notebook already open).
    open_panel = click_and_time(page, SIDEBAR_TAB, f"step {N - 1}")
    expect(items(page)).to_have_count(50)
    expect(page.locator("#jp-mlvc-sidebar .jp-mlvc-count")).to_contain_text(f"{N}")

    # Switching to the notebook from another one: the list is fetched and drawn anew.
    page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id='filebrowser']").click()
    page.locator(".jp-DirListing-item", has_text="small.ipynb").dblclick()
    page.wait_for_selector(
        ".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current:has-text('small.ipynb')"
    )
    page.click(SIDEBAR_TAB)
    tab = ".lm-DockPanel-tabBar .lm-TabBar-tab:has-text('{}')"
    switches = []
    for _ in range(5):
        page.click(tab.format("small.ipynb"))
        expect(page.locator("#jp-mlvc-sidebar .jp-mlvc-item")).to_have_count(0)
        switches.append(click_and_time(page, tab.format("big.ipynb"), f"step {N - 1}"))

    # Of which the first page's request (what the browser saw of the server).
    fetches = page.evaluate(
        """() => performance.getEntriesByType('resource')
                 .filter(e => e.name.includes('/mlvc/api/snapshots?'))
                 .map(e => e.duration)"""
    )[-5:]

    # The next page.
    more = page.locator("#jp-mlvc-sidebar .jp-mlvc-more")
    more.click()
    expect(items(page)).to_have_count(100)

    print(
        f"\nscale: sidebar with {N} snapshots (store built in {seconds:.0f} s): "
        f"open the panel -> rows painted {open_panel:.0f} ms; "
        f"switch to the notebook -> its first page painted: median "
        f"{statistics.median(switches):.0f} ms, max {max(switches):.0f} ms "
        f"(of which the page's request: median {statistics.median(fetches):.0f} ms)"
    )
    assert statistics.median(switches) < 2_000
    assert not page.errors  # type: ignore[attr-defined]
