"""Text size, high contrast (适老化) and print, in real headless Chromium on the served sample site."""

from __future__ import annotations

import base64
import subprocess

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.support import checkers

HOME = "/"
ARTICLE_EN = "/2025/06/metro-line-4-opens/"
ARTICLE_ZH = "/zh/2025/06/metro-line-4-opens/"
SEED = "/2021/10/cai-qi-ip-demonstration-city/"
PAGES = (HOME, ARTICLE_EN, ARTICLE_ZH)
CONTROLS = "[data-display-controls]"


@pytest.fixture()
def page(browser, sample_server):
    """The shared browser on the home page with no remembered display settings; restored afterwards."""

    def go(path: str) -> None:
        browser.get(sample_server + path)

    browser.set_window_size(1280, 900)
    go(HOME)
    browser.execute_script("localStorage.clear()")
    go(HOME)
    browser.go = go
    yield browser
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
    browser.set_window_size(1280, 900)
    go(HOME)
    browser.execute_script("localStorage.clear()")


def root_font_px(driver) -> float:
    return float(driver.execute_script("return parseFloat(getComputedStyle(document.documentElement).fontSize)"))


def click(driver, selector: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f"{CONTROLS} {selector}").click()


def pressed(driver) -> list[str]:
    return driver.execute_script(
        "return [...document.querySelectorAll('[data-display-controls] button[aria-pressed=true]')]"
        ".map(b => b.dataset.textSize || 'contrast')"
    )


def set_mode(driver, mode: str) -> None:
    """Choose a mode with the buttons, as a reader does."""
    size = {"standard": "standard", "large": "large", "xlarge": "xlarge", "contrast": "large"}[mode]
    click(driver, f'[data-text-size="{size}"]')
    if mode == "contrast":
        click(driver, "[data-contrast]")


def no_overflow(driver) -> tuple[int, int]:
    return tuple(driver.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    ))


def test_controls_need_javascript_and_are_hidden_without_it(page, sample_site):
    html = (sample_site / "index.html").read_text(encoding="utf-8")
    assert "data-display-controls hidden" in html
    assert page.find_element(By.CSS_SELECTOR, CONTROLS).is_displayed()
    assert pressed(page) == ["standard"]
    page.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    page.go(ARTICLE_EN)
    assert not page.find_element(By.CSS_SELECTOR, CONTROLS).is_displayed()
    assert root_font_px(page) == 16


def test_text_size_changes_root_font_size_and_persists(page):
    assert root_font_px(page) == 16
    click(page, '[data-text-size="large"]')
    assert root_font_px(page) == 20
    assert pressed(page) == ["large"]
    page.go(ARTICLE_ZH)
    assert root_font_px(page) == 20 and pressed(page) == ["large"]
    click(page, '[data-text-size="xlarge"]')
    assert root_font_px(page) == 24
    page.go(ARTICLE_EN)
    assert root_font_px(page) == 24 and pressed(page) == ["xlarge"]
    click(page, '[data-text-size="standard"]')
    page.go(HOME)
    assert root_font_px(page) == 16 and pressed(page) == ["standard"]


def test_high_contrast_changes_colours_and_persists(page):
    def colours():
        return page.execute_script(
            "const s = e => getComputedStyle(document.querySelector(e));"
            "return [s('body').backgroundColor, s('body').color, s('.app-header').backgroundColor,"
            " s('main a').color, document.documentElement.classList.contains('app-contrast-high')]"
        )

    assert colours() == ["rgb(255, 255, 255)", "rgb(27, 27, 27)", "rgb(155, 28, 28)", "rgb(26, 79, 156)", False]
    click(page, "[data-contrast]")
    high = ["rgb(0, 0, 0)", "rgb(255, 255, 255)", "rgb(0, 0, 0)", "rgb(255, 255, 0)", True]
    assert colours() == high
    assert page.find_element(By.CSS_SELECTOR, "[data-contrast]").get_attribute("aria-pressed") == "true"
    page.go(ARTICLE_EN)
    assert colours() == high
    click(page, "[data-contrast]")
    page.go(HOME)
    assert colours()[0] == "rgb(255, 255, 255)"


def test_buttons_are_reachable_and_work_from_the_keyboard(page):
    large = page.find_element(By.CSS_SELECTOR, f'{CONTROLS} [data-text-size="large"]')
    contrast = page.find_element(By.CSS_SELECTOR, f"{CONTROLS} [data-contrast]")
    page.execute_script("document.activeElement && document.activeElement.blur()")
    keys = ActionChains(page)
    for _ in range(20):  # skip link, site name, language, then the controls
        keys.send_keys(Keys.TAB).perform()
        if page.switch_to.active_element == large:
            break
    assert page.switch_to.active_element == large, "the Large button is not reachable with Tab"
    keys.send_keys(Keys.ENTER).perform()
    assert root_font_px(page) == 20 and pressed(page) == ["large"]
    keys.send_keys(Keys.TAB).send_keys(Keys.TAB).perform()
    assert page.switch_to.active_element == contrast
    keys.send_keys(Keys.SPACE).perform()
    assert contrast.get_attribute("aria-pressed") == "true"
    assert page.execute_script("return document.documentElement.classList.contains('app-contrast-high')")
    keys.send_keys(Keys.SPACE).perform()
    assert contrast.get_attribute("aria-pressed") == "false"


@pytest.mark.parametrize("mode", ["standard", "large", "xlarge", "contrast"])
def test_axe_finds_nothing_in_every_mode(page, mode):
    for path in PAGES:
        page.go(path)
        set_mode(page, mode)
        violations = checkers.run_axe_here(page)
        assert not violations, f"{path} in {mode} mode:\n" + checkers.format_axe(violations)


@pytest.mark.parametrize(
    "features",
    [
        {"prefers-color-scheme": "dark"},
        {"prefers-contrast": "more"},
        {"prefers-color-scheme": "dark", "prefers-contrast": "more"},
    ],
    ids=["dark", "more-contrast", "dark-more-contrast"],
)
def test_system_colour_preferences_keep_contrast(page, sample_server, features):
    """The stylesheets alone follow prefers-color-scheme and prefers-contrast (no button pressed)."""
    page.execute_cdp_cmd(
        "Emulation.setEmulatedMedia", {"features": [{"name": k, "value": v} for k, v in features.items()]}
    )
    for path in (HOME, ARTICLE_EN):
        violations = checkers.run_axe(page, sample_server + path)
        assert not violations, f"{path} with {features}:\n" + checkers.format_axe(violations)


@pytest.mark.parametrize("mode", ["standard", "contrast", "xlarge"])
def test_layout_holds_at_320px_and_at_200_percent_zoom(page, mode):
    set_mode(page, mode)
    # 200% zoom of a 1280x900 window: a 640x450 CSS-pixel viewport at device scale 2; then 320 px (WCAG reflow)
    for width, height, scale in ((640, 450, 2), (320, 640, 1)):
        page.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": scale, "mobile": False},
        )
        for path in PAGES:
            page.go(path)
            assert page.execute_script("return window.innerWidth") == width
            scroll_width, client_width = no_overflow(page)
            assert scroll_width <= client_width, f"{path} at {width}px in {mode} mode scrolls sideways"


CUT_WORDS = """
const cut = [];
for (const heading of document.querySelectorAll("h1")) {
  const walker = document.createTreeWalker(heading, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const word of node.data.matchAll(/[A-Za-z]+/g)) {  // Chinese breaks between any two characters
      const range = document.createRange();
      range.setStart(node, word.index);
      range.setEnd(node, word.index + word[0].length);
      if (range.getClientRects().length > 1) cut.push(word[0]);
    }
  }
}
return cut;
"""
# A label is as tall as its row (flex stretches it): measured at its own height, at the width it was given.
WRAPPED_LABELS = """
return [...document.querySelectorAll(".app-dateline dt")].filter(dt => {
  dt.style.alignSelf = "flex-start";
  const wrapped = dt.getBoundingClientRect().height > 1.5 * parseFloat(getComputedStyle(dt).lineHeight);
  dt.style.alignSelf = "";
  return wrapped;
}).map(dt => dt.textContent);
"""


SPLIT_NAMES = """
return [...document.querySelectorAll(".app-dateline dd a")].filter(a => a.getClientRects().length > 1)
  .map(a => a.textContent);
"""


def test_a_phone_shows_the_headline_words_whole_and_the_dateline_labels_on_one_line(page):
    """At 320 px the seed article's headline ("demonstration") fits its words on lines, not cut in two, a
    dateline label keeps its colon beside it however long its value, and a name is not split ("Fan / Junsheng":
    two reporters wrap between their names)."""
    page.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                         {"width": 320, "height": 640, "deviceScaleFactor": 1, "mobile": False})
    for path in (SEED, ARTICLE_EN, ARTICLE_ZH):
        page.go(path)
        assert page.execute_script(CUT_WORDS) == [], path
        assert page.execute_script(WRAPPED_LABELS) == [], path
        assert page.execute_script(SPLIT_NAMES) == [], path


# One page of every kind, in both languages where the kind has two.
EVERY_KIND = (HOME, "/zh/", ARTICLE_EN, ARTICLE_ZH, SEED, "/topics/", "/zh/topics/", "/topics/public-transport/",
              "/zh/topics/elderly-care/", "/officials/", "/zh/officials/", "/officials/fang-zhiyuan/",
              "/people/chen-haoyu/", "/sections/policy/", "/zh/sections/news/", "/archives/", "/zh/archives/",
              "/2025/", "/zh/2025/06/", "/search/", "/zh/search/", "/about/", "/404.html", "/zh/404.html")


@pytest.mark.parametrize("mode", ["large", "xlarge"])
def test_every_kind_of_page_reflows_at_320px_with_larger_text(page, mode):
    """WCAG reflow with the larger text sizes an elderly reader chooses: no page scrolls sideways on a 320 px
    phone (a grid of cards at least 16rem wide did, at 125% and 150%: the topics and officials indexes)."""
    set_mode(page, mode)
    page.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                         {"width": 320, "height": 640, "deviceScaleFactor": 1, "mobile": False})
    wide = []
    for path in EVERY_KIND:
        page.go(path)
        scroll_width, client_width = no_overflow(page)
        if scroll_width > client_width:
            wide.append((path, scroll_width))
    assert wide == [], f"pages that scroll sideways at 320 px in {mode} mode"


def pdf_text(driver) -> str:
    pdf = base64.b64decode(driver.print_page())
    proc = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, stdout=subprocess.PIPE, check=True)
    return proc.stdout.decode("utf-8")


@pytest.mark.parametrize("mode", ["standard", "contrast"])
def test_article_prints_with_its_url_and_without_navigation(page, mode):
    page.go(ARTICLE_EN)
    set_mode(page, mode)
    assert not page.find_element(By.CSS_SELECTOR, ".app-print-url").is_displayed()  # paper only
    text = pdf_text(page)
    assert "Metro Line 4 opens" in text
    # large text may wrap the address; the words and the address must be there, in order
    assert "Webaddressofthisarticle:http://127.0.0.1:8000/2025/06/metro-line-4-opens/" in "".join(text.split())
    for absent in ("Skip to main content", "Text size", "High contrast", "Share this article", "About this portal",
                   "Speeches"):
        assert absent not in text, f"{absent!r} printed"
