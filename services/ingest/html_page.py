"""Main text and metadata of an HTML page: trafilatura first, plain lxml when it finds nothing."""

from __future__ import annotations

import logging
import re
from datetime import date, datetime

import lxml.html
import trafilatura
from lxml import etree

from services.ingest.extracted import Extracted, as_utc, clean_inline
from services.ingest.identity import canonicalize_url
from services.ingest.page_text import split_trailing_boilerplate
from services.ingest.parsing import strip_control_characters

log = logging.getLogger(__name__)

# lxml refuses str input that declares its own encoding; the text is already decoded.
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_NON_CONTENT = "//script|//style|//noscript|//template|//svg|//iframe|//figcaption"
_PUBLISHED_META = (
    "article:published_time",
    "og:published_time",
    "og:article:published_time",
    "datepublished",
    "publish-date",
    "publish_date",
    "pubdate",
    "date",
    "dc.date.issued",
    "dc.date",
    "sailthru.date",
    "parsely-pub-date",
)
_TITLE_SUFFIX = re.compile(r"\s+[|–—-]\s+[^|–—-]{1,60}$")


def extract_from_html(html: str) -> Extracted:
    """Title, body paragraphs, caption and metadata of a page; an unparsable page yields nothing."""
    tree = _parse(html)
    if tree is None:
        return Extracted()

    meta = _meta_tags(tree)
    found = Extracted(
        url=_page_url(tree, meta),
        source=meta.get("og:site_name") or meta.get("application-name"),
        published_at=_published_at(tree, meta),
        authors=_split_authors(meta.get("author") or meta.get("article:author")),
        language=(tree.get("lang") or meta.get("og:locale") or "").strip()[:16] or None,
    )
    captions = [text for node in tree.iter("figcaption") if (text := clean_inline(node.text_content()))]
    found.caption = " ".join(dict.fromkeys(captions)) or None
    for node in tree.xpath(_NON_CONTENT):
        node.drop_tree()

    title, paragraphs = _trafilatura_text(tree, found)
    if not paragraphs:
        paragraphs = _lxml_paragraphs(tree)
    found.title = title or _lxml_title(tree, meta)
    if found.title and found.source:
        found.title = _strip_site_suffix(found.title, found.source)

    if paragraphs and found.title and clean_inline(paragraphs[0]).casefold() == found.title.casefold():
        paragraphs = paragraphs[1:]
    paragraphs = [p for p in paragraphs if p not in captions]
    found.paragraphs, _ = split_trailing_boilerplate(paragraphs)
    return found


def _parse(html: str) -> lxml.html.HtmlElement | None:
    try:
        markup = _XML_DECLARATION.sub("", strip_control_characters(html), count=1)
        tree = lxml.html.document_fromstring(markup)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return None
    return tree if isinstance(tree, lxml.html.HtmlElement) else None


def _meta_tags(tree: lxml.html.HtmlElement) -> dict[str, str]:
    """``<meta>`` values by lowercased ``property``/``name``/``itemprop``; the first one wins."""
    found: dict[str, str] = {}
    for node in tree.iter("meta"):
        key = node.get("property") or node.get("name") or node.get("itemprop")
        value = clean_inline(node.get("content") or "")
        if key and value:
            found.setdefault(key.strip().lower(), value)
    return found


def _page_url(tree: lxml.html.HtmlElement, meta: dict[str, str]) -> str | None:
    candidates = [
        node.get("href") or ""
        for node in tree.iter("link")
        if "canonical" in (node.get("rel") or "").lower().split()
    ]
    candidates.append(meta.get("og:url", ""))
    return next((url.strip() for url in candidates if canonicalize_url(url)), None)


def _published_at(tree: lxml.html.HtmlElement, meta: dict[str, str]) -> datetime | None:
    values = [meta[key] for key in _PUBLISHED_META if key in meta]
    values += [node.get("datetime") or "" for node in tree.xpath("//*[@itemprop='datePublished']")]
    values += [node.get("datetime") or "" for node in tree.xpath("//article//time[@datetime]")]
    for value in values:
        if moment := parse_iso_datetime(value):
            return moment
    return None


def parse_iso_datetime(value: str) -> datetime | None:
    """An ISO 8601 date or date-time as UTC; None when the value is something else."""
    text = value.strip()
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError:
        pass
    try:
        day = date.fromisoformat(text[:10])
    except ValueError:
        return None
    return as_utc(datetime(day.year, day.month, day.day))


def _split_authors(value: str | None) -> list[str]:
    if not value:
        return []
    names = [clean_inline(name) for name in re.split(r";|,|\s+and\s+", value)]
    return [name for name in dict.fromkeys(names) if name and not name.lower().startswith("http")][:50]


def _trafilatura_text(tree: lxml.html.HtmlElement, found: Extracted) -> tuple[str | None, list[str]]:
    """Title and main-text paragraphs per trafilatura; fills metadata the page's tags did not give."""
    try:
        document = trafilatura.bare_extraction(
            lxml.html.tostring(tree, encoding="unicode"),
            url=found.url,
            with_metadata=True,
            include_comments=False,
            include_tables=False,
            include_images=False,
            date_extraction_params={"extensive_search": False, "original_date": True},
        )
    except Exception:  # a third-party parser on hostile input: any failure means "use the fallback"
        log.warning("trafilatura failed; using the lxml fallback", exc_info=True)
        return None, []
    if document is None or isinstance(document, dict):
        return None, []
    found.source = found.source or document.sitename
    found.authors = found.authors or _split_authors(document.author)
    if found.published_at is None and document.date:
        found.published_at = parse_iso_datetime(document.date)
    found.language = found.language or document.language
    paragraphs = [text for line in (document.text or "").split("\n") if (text := clean_inline(line))]
    return clean_inline(document.title or "") or None, paragraphs


def _lxml_paragraphs(tree: lxml.html.HtmlElement) -> list[str]:
    for scope in ("//article//p", "//main//p", "//p"):
        paragraphs = [text for node in tree.xpath(scope) if (text := clean_inline(node.text_content()))]
        if paragraphs:
            return paragraphs
    body = tree.find("body")
    text = (body if body is not None else tree).text_content()
    return [line for raw in text.split("\n") if (line := clean_inline(raw))]


def _lxml_title(tree: lxml.html.HtmlElement, meta: dict[str, str]) -> str | None:
    for node in tree.iter("h1"):
        if text := clean_inline(node.text_content()):
            return text
    if meta.get("og:title"):
        return meta["og:title"]
    title = tree.find(".//title")
    if title is None:
        return None
    return clean_inline(title.text_content()) or None


def _strip_site_suffix(title: str, source: str) -> str:
    """``"Bridge reopens | Coastal Gazette"`` -> ``"Bridge reopens"`` when the suffix is the site name."""
    match = _TITLE_SUFFIX.search(title)
    if match and clean_inline(match.group(0).lstrip(" |–—-")).casefold() == source.casefold():
        return title[: match.start()]
    return title
