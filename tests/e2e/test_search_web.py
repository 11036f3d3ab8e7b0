"""The search web page in a real browser: Debian's Chromium, driven by Playwright, against a real server.

The search service (``create_app``, served by uvicorn on a loopback port) reads a throwaway index
made from the real template, holding a few enriched articles built with
:func:`schemas.search_index.document_from`, among them the seed-like one about Putin, Xi, the
Shanghai Cooperation Organization and Astana. The browser searches, clicks a facet, searches quotes
by speaker, filters by where stories were filed (their dateline), opens an article, pages, and does it
all again with the keyboard only; the error pages are checked too. Each step's screenshot is saved in
the test's tmp dir, and with ``NEWSWIRE_KEEP_SCREENSHOTS=1`` copied to ``bench/results/search-web/``
(look at them: a page can pass every check and still look wrong).

Skips only when Playwright (Python) or a Chromium binary is missing; Playwright's own browser
download is never used (``NEWSWIRE_CHROMIUM`` may name another Chromium).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from schemas.articles import Dateline, EnrichedArticle, Entity, EntityType, GeoPoint, Place, Quote
from schemas.search_index import document_from
from tests.integration.search_server import throwaway_index
from tests.unit.index.factories import enriched_article

try:
    from playwright.sync_api import BrowserContext, Page, expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    pytest.skip(
        "Playwright for Python is not installed (pip install playwright; no browser download needed)",
        allow_module_level=True,
    )

CHROMIUM = os.environ.get("NEWSWIRE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).is_file():  # pragma: no cover - depends on the machine
    pytest.skip(f"no Chromium binary at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "bench" / "results" / "search-web"
TIMEOUT_MS = 20_000

XI, PUTIN, ERDOGAN, LUKASHENKO = (
    "Xi Jinping",
    "Vladimir Putin",
    "Recep Tayyip Erdogan",
    "Alexander Lukashenko",
)
SCO = "Shanghai Cooperation Organization"


def person(name: str, mentions: int = 2) -> Entity:
    return Entity(name=name, type=EntityType.PERSON, mentions=mentions, first_offset=0)


def organization(name: str) -> Entity:
    return Entity(name=name, type=EntityType.ORGANIZATION, mentions=2, first_offset=0)


def enriched(**fields: Any) -> EnrichedArticle:
    """An enriched article of the World section published by Press TV on 3 July 2024, at a URL of its own."""
    defaults = {
        "section": "World",
        "source": "Press TV",
        "published_at": datetime(2024, 7, 3, 9, 30, tzinfo=UTC),
        "url": f"https://news.example/{uuid.uuid4().hex[:8]}",
    }
    return enriched_article(**{**defaults, **fields})


ASTANA = Place(name="Astana", kind="city", country_codes=["KZ"], location=GeoPoint(lat=51.17, lon=71.45))
KAZAKHSTAN = Place(name="Kazakhstan", kind="country", country_codes=["KZ"])
FILED_IN_ASTANA = Dateline(name="Astana", country="KZ", location=ASTANA.location, text="ASTANA, July 3")
FILED_IN_MINSK = Dateline(
    name="Minsk", country="BY", location=GeoPoint(lat=53.9, lon=27.57), text="MINSK, July 4 (Reuters)"
)
FILED_IN_GENEVA = Dateline(name="Geneva", country="CH", text="GENEVA (Reuters)")
XI_ON_FRIENDSHIP = (
    "In the face of the turbulent international situation and external environment, the two sides "
    "should continue to uphold the original aspiration of friendship for generations to come"
)
PUTIN_ON_RELATIONS = (
    "Russian-Chinese relations, our comprehensive partnership and strategic cooperation, are "
    "experiencing their best period in history"
)
SUMMIT = enriched(
    title="Putin, Xi meet at Central Asian summit in show of deepening cooperation",
    section="Russia",
    caption=(
        "Russia's President Vladimir Putin shakes hands with China's President Xi Jinping on the sidelines "
        "of the Shanghai Cooperation Organization (SCO) summit in Astana, Kazakhstan, on July 3, 2024."
    ),
    paragraphs=[
        "In their second meeting this year and in a show of deepening cooperation, Russian President "
        "Vladimir Putin and his Chinese counterpart Xi Jinping have met at a Central Asian summit "
        "in Kazakhstan.",
        "Putin and Xi convened in the capital Astana for a summit of the Shanghai Cooperation Organization "
        "(SCO), a Beijing-led regional bloc, on Wednesday.",
        "In televised opening remarks ahead of a bilateral meeting, Putin emphasized the role of the "
        "Shanghai Cooperation Organization in a multipolar world order.",
        f"“{PUTIN_ON_RELATIONS},” the Russian president said.",
        "Xi Jinping, for his part, stressed the importance of continuing bilateral relations amid "
        "challenging international conditions.",
        f"“{XI_ON_FRIENDSHIP},” Xi told Putin in brief opening remarks.",
        "Putin also met his Turkish counterpart Recep Tayyip Erdogan on the sidelines of the summit.",
    ],
    entities=[
        person(PUTIN, 6),
        person(XI, 5),
        person(ERDOGAN, 1),
        organization(SCO),
        Entity(name="Astana", type=EntityType.LOCATION, mentions=2, first_offset=300),
    ],
    places=[ASTANA, KAZAKHSTAN],
    countries=["KZ", "CN", "RU"],
    primary_country="KZ",
    dateline=FILED_IN_ASTANA,
    quotes=[
        Quote(text=PUTIN_ON_RELATIONS, speaker=PUTIN, speaker_type=EntityType.PERSON, offset=400),
        Quote(text=XI_ON_FRIENDSHIP, speaker=XI, speaker_type=EntityType.PERSON, offset=700),
    ],
    keywords=["Shanghai Cooperation Organization", "Central Asian summit", "bilateral relations"],
    summary=(
        "Russian President Vladimir Putin and his Chinese counterpart Xi Jinping have met at a Central "
        "Asian summit in Kazakhstan."
    ),
)
# The same story republished by another outlet: a near-copy, listed only with include_duplicates.
SUMMIT_COPY = enriched(
    title="Putin and Xi hold talks at Astana summit",
    section="World",
    source="Example Wire",
    paragraphs=list(SUMMIT.paragraphs),
    entities=list(SUMMIT.entities),
    places=list(SUMMIT.places),
    countries=["KZ", "CN", "RU"],
    quotes=list(SUMMIT.quotes),
    duplicate_of=SUMMIT.id,
    published_at=datetime(2024, 7, 3, 14, 0, tzinfo=UTC),
)
BELARUS = enriched(
    title="Belarus joins Eurasian security bloc as its tenth member",
    published_at=datetime(2024, 7, 4, 8, 0, tzinfo=UTC),
    paragraphs=[
        "Belarus became the tenth member of the Shanghai Cooperation Organization on Thursday, at the end "
        "of a two-day summit in Astana that Chinese President Xi Jinping called a new start for the bloc.",
        "Alexander Lukashenko thanked the member states and said his country would work for security in "
        "the region, while observers noted the growing weight of China in Central Asia.",
    ],
    entities=[person(XI), person(LUKASHENKO), organization(SCO)],
    places=[ASTANA],
    countries=["BY", "KZ", "CN"],
    primary_country="BY",
    dateline=FILED_IN_MINSK,
    quotes=[
        Quote(
            text="we will work with every member for security and friendship in the region",
            speaker=LUKASHENKO,
            speaker_type=EntityType.PERSON,
            offset=200,
        )
    ],
    keywords=["Belarus", "tenth member"],
    summary="Belarus became the tenth member of the Shanghai Cooperation Organization.",
)
ERDOGAN_MEETS_PUTIN = enriched(
    title="Erdogan and Putin discuss Ukraine grain deal on the sidelines of the Astana summit",
    published_at=datetime(2024, 7, 3, 16, 0, tzinfo=UTC),
    paragraphs=[
        "Turkish President Recep Tayyip Erdogan met Russian President Vladimir Putin on the sidelines of "
        "the summit in Astana and urged a return to the Black Sea grain deal.",
        "Erdogan offered again to host peace talks; Putin said Moscow was open to dialogue on its terms.",
    ],
    entities=[person(ERDOGAN, 3), person(PUTIN, 3)],
    places=[ASTANA],
    countries=["TR", "RU", "KZ"],
    dateline=FILED_IN_ASTANA,
    quotes=[
        Quote(
            text="a just peace can be found at the negotiating table",
            speaker=ERDOGAN,
            speaker_type=EntityType.PERSON,
            offset=150,
        )
    ],
    keywords=["grain deal"],
    summary="Erdogan met Putin on the sidelines of the summit in Astana.",
)
TRADE = enriched(
    title="World Trade Organization cuts its forecast for goods trade",
    section="Business",
    source="Example Wire",
    published_at=datetime(2024, 6, 20, 10, 0, tzinfo=UTC),
    paragraphs=["The World Trade Organization said growth in goods trade would slow next year."],
    entities=[organization("World Trade Organization")],
    countries=["CH"],
    dateline=FILED_IN_GENEVA,
    keywords=["goods trade"],
    summary="The WTO expects slower growth in goods trade.",
)
ARTICLES = (SUMMIT, SUMMIT_COPY, BELARUS, ERDOGAN_MEETS_PUTIN, TRADE)


# ---------------------------------------------------------------------------------------------------
# Fixtures: the index, the server, the browser.


@pytest.fixture(scope="module")
def web_index(es: Elasticsearch) -> Iterator[str]:
    with throwaway_index(es, ARTICLES, "newswire-test-search-web") as name:
        yield name


class Server:
    """uvicorn serving ``create_app(settings)`` in a thread, on a loopback port of its own."""

    def __init__(self, es_url: str, index: str) -> None:
        import uvicorn

        from services.runtime.settings import ElasticsearchSettings
        from services.search.app import create_app
        from services.search.settings import Settings

        settings = Settings(
            index=index,
            port=0,
            startup_timeout_s=0,
            log_json=False,
            elasticsearch=ElasticsearchSettings(url=es_url, request_timeout_s=10),
        )
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        config = uvicorn.Config(create_app(settings), log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self.thread.is_alive(), "the search server stopped while starting"
            assert time.monotonic() < deadline, "the search server did not start within 30 s"
            time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.socket.close()


@pytest.fixture(scope="module")
def site(endpoints: Any, web_index: str) -> Iterator[str]:
    with Server(endpoints.es_url, web_index) as server:
        yield server.url


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """Debian's Chromium, headless, with a fresh profile (user-data-dir) of its own."""
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=VIEWPORT,
            locale="en-GB",
            timezone_id="UTC",
        )
        context.set_default_timeout(TIMEOUT_MS)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser: BrowserContext) -> Iterator[Page]:
    page = browser.new_page()
    yield page
    page.close()


@pytest.fixture
def shot(tmp_path: Path) -> Any:
    """``shot(page, "01-search")``: a viewport screenshot in the tmp dir; copied to bench/results too
    with ``NEWSWIRE_KEEP_SCREENSHOTS=1`` (so a plain test run leaves the committed ones alone)."""

    def take(page: Page, name: str) -> Path:
        path = tmp_path / f"{name}.png"
        page.screenshot(path=str(path))
        if os.environ.get("NEWSWIRE_KEEP_SCREENSHOTS") == "1":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, SCREENSHOTS / path.name)
        return path

    return take


# ---------------------------------------------------------------------------------------------------
# Helpers.


def search_for(page: Page, site: str, words: str) -> None:
    page.goto(site + "/")
    page.get_by_role("searchbox", name="Search articles").fill(words)
    page.get_by_role("searchbox", name="Search articles").press("Enter")
    page.wait_for_load_state()


def result_titles(page: Page) -> list[str]:
    return [title.strip() for title in page.locator("ol.hits h2.hit__title").all_inner_texts()]


def facet_link(page: Page, value: str) -> Any:
    filters = page.get_by_role("navigation", name="Filters")
    return filters.get_by_role("link", name=re.compile(rf"^{re.escape(value)}, \d+ articles?$"))


def focused(page: Page) -> dict[str, Any]:
    """The focused element: tag, accessible-ish text, href, and whether a focus ring is drawn."""
    return page.evaluate(
        """() => {
            const element = document.activeElement;
            const style = getComputedStyle(element);
            return {
                tag: element.tagName.toLowerCase(),
                id: element.id,
                text: (element.getAttribute('aria-label') || element.innerText || '').trim(),
                href: element.getAttribute('href'),
                inHits: !!element.closest('ol.hits h2'),
                ring: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
            };
        }"""
    )


def tab_until(page: Page, wanted: Any, limit: int = 40) -> dict[str, Any]:
    """Press Tab until ``wanted(focused)`` holds; fails after ``limit`` presses."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(page)
        if wanted(now):
            return now
        seen.append(now["text"][:40] or now["tag"])
    raise AssertionError(f"not reached with {limit} Tab presses; focus went through {seen}")


# ---------------------------------------------------------------------------------------------------
# The steps.


def test_search_shows_the_summit_first_with_highlights(site: str, page: Page, shot: Any) -> None:
    search_for(page, site, SCO)

    assert "q=Shanghai+Cooperation+Organization" in page.url
    expect(page.get_by_role("searchbox", name="Search articles")).to_have_value(SCO)
    titles = result_titles(page)
    # Both hold the exact phrase, so both rank above anything that has only its words.
    assert set(titles[:2]) == {SUMMIT.title, BELARUS.title}, titles
    assert TRADE.title not in titles, "a stemmed or partial match brought in the WTO article"
    assert SUMMIT_COPY.title not in titles, "the near-copy is listed without include_duplicates"
    first = page.locator("ol.hits > li").filter(has_text=SUMMIT.title)
    expect(first.locator(".hit__meta")).to_contain_text("Press TV")
    expect(first.locator(".hit__meta")).to_contain_text("Russia")
    expect(first.locator(".hit__meta time")).to_have_text("3 July 2024")
    marked = " ".join(first.locator(".hit__snippet mark").all_inner_texts()).lower().split()
    assert {"shanghai", "cooperation", "organization"} <= set(marked), marked
    # The highlight markup is rendered as marks, never shown as text.
    assert "<em>" not in first.inner_text()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"for “{SCO}”")
    shot(page, "01-search-shanghai-cooperation-organization")


def test_clicking_a_facet_filters_the_results(site: str, page: Page, shot: Any) -> None:
    search_for(page, site, "summit")
    before = result_titles(page)
    assert set(before) == {SUMMIT.title, BELARUS.title, ERDOGAN_MEETS_PUTIN.title}, before

    facet_link(page, PUTIN).click()
    page.wait_for_url(re.compile(r"person=Vladimir\+Putin"))
    assert set(result_titles(page)) == {SUMMIT.title, ERDOGAN_MEETS_PUTIN.title}
    remove = page.get_by_role("link", name=f"Remove filter Person: {PUTIN}")
    expect(remove).to_be_visible()
    chosen = page.get_by_role("navigation", name="Filters").locator("a[aria-current='true']")
    expect(chosen).to_have_count(1)
    expect(chosen).to_contain_text(PUTIN)
    expect(page.get_by_role("searchbox", name="Search articles")).to_have_value("summit")
    shot(page, "02-facet-person-putin")

    # A second facet narrows further (both must hold); removing the first widens again.
    facet_link(page, XI).click()
    page.wait_for_url(re.compile(r"person=Xi\+Jinping"))
    assert result_titles(page) == [SUMMIT.title]
    page.get_by_role("link", name=f"Remove filter Person: {PUTIN}").click()
    page.wait_for_url(lambda url: "Vladimir" not in url)
    assert set(result_titles(page)) == {SUMMIT.title, BELARUS.title}
    page.get_by_role("link", name=f"Remove filter Person: {XI}").click()
    page.wait_for_url(lambda url: "person=" not in url)
    assert set(result_titles(page)) == set(before)


def test_months_and_countries_facets_filter(site: str, page: Page, shot: Any) -> None:
    page.goto(site + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Latest articles")
    assert len(result_titles(page)) == 4, "the newest articles, near-copy left out"
    facet_link(page, "June 2024").click()
    page.wait_for_url(re.compile(r"month=2024-06"))
    assert result_titles(page) == [TRADE.title]
    page.get_by_role("link", name="Remove filter Month: June 2024").click()
    facet_link(page, "Belarus").click()
    page.wait_for_url(re.compile(r"country=BY"))
    assert result_titles(page) == [BELARUS.title]
    expect(page.get_by_role("link", name="Remove filter Country: Belarus")).to_be_visible()
    shot(page, "03-facet-country-belarus")


def test_quote_search_by_speaker(site: str, page: Page, shot: Any) -> None:
    page.goto(site + "/")
    page.get_by_text("Quotes, dates and options").click()
    page.get_by_label("Words of the quote").fill("friendship")
    page.get_by_label("Speaker", exact=True).fill(XI)
    page.get_by_label("Speaker", exact=True).press("Enter")
    page.wait_for_url(re.compile(r"speaker=Xi\+Jinping"))
    assert "since=" not in page.url and "sort=" not in page.url, "empty or default fields in the link"

    # Lukashenko speaks of friendship too, and Xi is named in the Belarus article: neither is a match.
    assert result_titles(page) == [SUMMIT.title]
    quote = page.locator("ol.hits .hit__quotes blockquote").first
    expect(quote).to_contain_text("the original aspiration of friendship")
    expect(quote.locator("mark")).to_have_text(["friendship"])
    expect(quote.get_by_role("link", name=XI)).to_be_visible()
    expect(page.get_by_role("link", name=f"Remove filter Speaker: {XI}")).to_be_visible()
    expect(page.get_by_label("Speaker", exact=True)).to_have_value(XI)
    shot(page, "04-quotes-by-xi-jinping")

    # All quotes of one speaker: the speaker alone.
    page.goto(site + "/?speaker=" + LUKASHENKO.replace(" ", "+"))
    assert result_titles(page) == [BELARUS.title]


def test_datelines_show_and_filter(site: str, page: Page, shot: Any) -> None:
    page.goto(site + "/")
    belarus = page.locator("ol.hits > li").filter(has_text=BELARUS.title)
    expect(belarus.locator(".hit__dateline")).to_have_text("Filed in Minsk, Belarus")
    datelines = page.get_by_role("region", name="Datelines")
    expect(datelines.get_by_role("link", name="Astana, 2 articles")).to_be_visible()

    datelines.get_by_role("link", name="Minsk, 1 article").click()
    page.wait_for_url(re.compile(r"dateline=Minsk"))
    assert result_titles(page) == [BELARUS.title]
    remove = page.get_by_role("link", name="Remove filter Dateline: Minsk")
    expect(remove).to_be_visible()
    shot(page, "11-dateline-minsk")
    remove.click()
    page.wait_for_url(lambda url: "dateline=" not in url)
    assert len(result_titles(page)) == 4

    # Typed in lower case: the same city, and its facet value shows as chosen.
    page.get_by_text("Quotes, dates and options").click()
    page.get_by_label("City", exact=True).fill("astana")
    page.get_by_label("City", exact=True).press("Enter")
    page.wait_for_url(re.compile(r"dateline=astana"))
    assert set(result_titles(page)) == {SUMMIT.title, ERDOGAN_MEETS_PUTIN.title}
    chosen = page.get_by_role("region", name="Datelines").locator("a[aria-current='true']")
    expect(chosen).to_have_count(1)
    expect(chosen).to_contain_text("Astana")
    chosen.click()
    page.wait_for_url(lambda url: "dateline=" not in url)
    assert len(result_titles(page)) == 4

    # The country a hit was filed from is a link that filters by it.
    trade = page.locator("ol.hits > li").filter(has_text=TRADE.title)
    trade.get_by_role("link", name="Switzerland: articles filed from this country").click()
    page.wait_for_url(re.compile(r"dateline_country=CH"))
    assert result_titles(page) == [TRADE.title]
    expect(page.get_by_role("link", name="Remove filter Dateline country: Switzerland")).to_be_visible()

    page.goto(f"{site}/read/{SUMMIT.id}")
    expect(page.locator(".article__meta .article__dateline")).to_have_text("Filed in Astana, Kazakhstan")


def test_article_view(site: str, page: Page, shot: Any) -> None:
    search_for(page, site, SCO)
    page.get_by_role("link", name=SUMMIT.title).click()
    page.wait_for_url(f"**/read/{SUMMIT.id}")

    expect(page.get_by_role("heading", level=1)).to_have_text(SUMMIT.title)
    main = page.get_by_role("main")
    expect(main.locator(".summary")).to_contain_text(SUMMIT.summary or "")
    expect(main.locator("figure.caption")).to_contain_text("shakes hands with China's President")
    expect(main.locator(".article__body p")).to_have_count(len(SUMMIT.paragraphs))
    quotes = page.get_by_role("region", name="Quotes")
    expect(quotes.locator("blockquote")).to_have_count(2)
    for quote in SUMMIT.quotes:
        item = quotes.locator("li", has_text=quote.text[:40])
        expect(item.get_by_role("link", name=re.compile(rf"^{quote.speaker}"))).to_be_visible()
    facts = page.get_by_role("complementary")
    for name in (PUTIN, XI, ERDOGAN, SCO, "Astana", "Kazakhstan", "China", "Russia", "Central Asian summit"):
        expect(facts.get_by_role("link", name=re.compile(re.escape(name))).first).to_be_visible()
    expect(facts.get_by_role("list", name="Near-copies of this article")).to_contain_text(SUMMIT_COPY.title)
    related = page.get_by_role("list", name="Related articles").get_by_role("link")
    related_titles = set(related.all_inner_texts())
    assert related_titles, "no related articles"
    assert related_titles <= {BELARUS.title, ERDOGAN_MEETS_PUTIN.title, TRADE.title}, related_titles
    shot(page, "05-article-top")
    quotes.scroll_into_view_if_needed()
    shot(page, "06-article-quotes-related")

    # An entity links to the search it names; a near-copy links back to the original.
    facts.get_by_role("link", name=re.compile(f"^{ERDOGAN}")).click()
    page.wait_for_url(re.compile(r"person=Recep"))
    assert set(result_titles(page)) == {SUMMIT.title, ERDOGAN_MEETS_PUTIN.title}
    page.goto(f"{site}/read/{SUMMIT_COPY.id}")
    expect(page.get_by_role("note")).to_contain_text(SUMMIT.title)


def test_paging_and_sort(site: str, page: Page, shot: Any) -> None:
    page.goto(site + "/?q=summit&size=2")
    pages = page.get_by_role("navigation", name="Pages of results")
    expect(pages.locator("[aria-current='page']")).to_have_text("1")
    first_page = result_titles(page)
    assert len(first_page) == 2
    pages.get_by_role("link", name="Next ›").click()
    page.wait_for_url(re.compile(r"page=2"))
    second_page = result_titles(page)
    assert len(second_page) == 1 and not set(second_page) & set(first_page)
    expect(page.locator("ol.hits")).to_have_attribute("start", "3")

    page.get_by_role("navigation", name="Order of results").get_by_role("link", name="Newest first").click()
    page.wait_for_url(re.compile(r"sort=date"))
    assert "page=" not in page.url, "a new order starts at page 1"
    assert result_titles(page) == [BELARUS.title, ERDOGAN_MEETS_PUTIN.title]
    # A new query keeps the order and the page size.
    page.get_by_role("searchbox", name="Search articles").fill("Astana")
    page.get_by_role("searchbox", name="Search articles").press("Enter")
    page.wait_for_url(re.compile(r"q=Astana"))
    assert "sort=date" in page.url and "size=2" in page.url, page.url
    assert result_titles(page) == [BELARUS.title, ERDOGAN_MEETS_PUTIN.title]

    # A page past the last result says so and leads back to the first.
    page.goto(site + "/?q=summit&size=2&page=7")
    expect(page.get_by_text("Page 7 is past the last result.")).to_be_visible()
    page.get_by_role("link", name="Go to the first page").click()
    page.wait_for_url(lambda url: "page=" not in url)
    assert len(result_titles(page)) == 2


def test_keyboard_only_and_landmarks(site: str, page: Page, shot: Any) -> None:
    page.goto(site + "/")
    assert page.locator("html").get_attribute("lang") == "en"
    skip = tab_until(page, lambda now: now["tag"] == "a", limit=1)
    assert skip["text"] == "Skip to results" and skip["ring"], skip
    tab_until(page, lambda now: now["id"] == "q")
    page.keyboard.type("Putin Xi")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"q=Putin"))

    # Skip link, then Tab to the first result: no mouse anywhere.
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Skip to results"
    page.keyboard.press("Enter")
    hit = tab_until(page, lambda now: now["inHits"], limit=10)
    assert hit["text"] == SUMMIT.title and hit["ring"], hit
    shot(page, "07-keyboard-focus-on-first-result")

    snapshot = page.locator("body").aria_snapshot()
    for role in ("banner", "search", "main", "complementary", "contentinfo"):
        assert f"- {role}" in snapshot, f"no {role} landmark in:\n{snapshot}"
    expect(page.get_by_role("search", name="Search the archive")).to_have_count(1)
    expect(page.get_by_role("navigation", name="Filters").get_by_role("list")).not_to_have_count(0)
    labels = ("Search articles", "Words of the quote", "Speaker", "From", "Until")
    for label in (*labels, "Include near-copies of earlier articles"):
        expect(page.get_by_label(label, exact=True)).to_have_count(1)

    page.keyboard.press("Enter")
    page.wait_for_url(f"**/read/{SUMMIT.id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(SUMMIT.title)
    # Tab reaches the article's people, and Enter follows them.
    person_link = tab_until(page, lambda now: (now["href"] or "").startswith("/?person=Xi"))
    assert person_link["ring"]
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"person=Xi\+Jinping"))
    assert SUMMIT.title in result_titles(page)


def test_friendly_errors(site: str, page: Page, shot: Any, endpoints: Any, web_index: str) -> None:
    response = page.goto(f"{site}/read/{uuid.uuid4().hex}")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Article not found")
    expect(page.get_by_role("link", name="Back to search")).to_be_visible()
    shot(page, "08-article-not-found")

    response = page.goto(f"{site}/?q=summit&since=last+week&size=500")
    assert response is not None and response.status == 422
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("since: must be a date")
    expect(alert).to_contain_text("size:")
    expect(page.get_by_role("searchbox", name="Search articles")).to_have_value("summit")
    assert "Traceback" not in page.content()
    expect(page.locator("form[role=search] input[name=size]")).to_have_count(0)  # not carried on
    shot(page, "09-bad-parameters")

    # Elasticsearch down: a server whose Elasticsearch address has nothing listening.
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{unused.getsockname()[1]}"
    with Server(dead, web_index) as down:
        response = page.goto(f"{down.url}/?q=summit")
        assert response is not None and response.status == 503
        expect(page.get_by_role("heading", level=1)).to_have_text("Search is unavailable")
        assert dead not in page.content(), "the page shows Elasticsearch's address"
        shot(page, "10-elasticsearch-down")
        response = page.goto(f"{down.url}/read/{SUMMIT.id}")
        assert response is not None and response.status == 503


def test_highlights_never_inject_markup(site: str, es: Elasticsearch, web_index: str, page: Page) -> None:
    hostile = enriched(
        title="Summit <script>window.injected = 1</script> ends",
        paragraphs=['The summit <img src=x onerror="window.injected = 2"> ended <em>late</em> tonight.'],
        published_at=datetime(2020, 1, 1, tzinfo=UTC),
    )
    es.index(index=web_index, id=hostile.id, document=document_from(hostile, trace_id="search-web-test"))
    es.indices.refresh(index=web_index)
    try:
        page.goto(site + "/?q=tonight+summit")
        titles = result_titles(page)
        assert hostile.title in titles, titles
        assert page.evaluate("window.injected") is None
        page.goto(f"{site}/read/{hostile.id}")
        expect(page.get_by_role("heading", level=1)).to_have_text(hostile.title)
        assert page.evaluate("window.injected") is None
    finally:
        es.delete(index=web_index, id=hostile.id, refresh=True)
