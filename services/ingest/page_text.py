"""Finding the structure in raw page text: breadcrumb, headline, dateline, caption, body, boilerplate.

Text copied off a news page reads top to bottom as navigation, headline, photo caption, body and
then the site's furniture (share buttons, app links, mirror domains, copyright). The rules here
are patterns, not site-specific strings, and lean towards keeping a line: a boilerplate line left
in the body is a blemish, a body paragraph dropped is lost news.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from services.ingest.extracted import Extracted, as_utc, clean_inline

MAX_HEADLINE_CHARS = 300
MAX_CAPTION_CHARS = 600
# Lines between the headline and the body that may hold a dateline or byline.
_MAX_META_LINES = 4

# ---------------------------------------------------------------------------- paragraphs

_SENTENCE_END = re.compile(r"[.!?…]['\"’”)\]]*$")


def split_units(text: str) -> list[str]:
    """The text's paragraphs (or standalone lines), whitespace-normalized and non-empty.

    Blocks are separated by blank lines. Inside a block each line stands alone (pages copied
    from a browser put one paragraph per line) unless the block looks hard-wrapped, in which
    case its lines are joined back into one paragraph.
    """
    units: list[str] = []
    block: list[str] = []
    for line in [*text.split("\n"), ""]:
        if line.strip():
            block.append(line)
            continue
        if block:
            lines = [clean_inline(raw) for raw in block]
            units.extend([" ".join(lines)] if _is_hard_wrapped(lines) else lines)
            block = []
    return [unit for unit in units if unit]


def _is_hard_wrapped(lines: list[str]) -> bool:
    if len(lines) < 2:
        return False
    leading = lines[:-1]
    width = max(len(line) for line in leading)
    if not 50 <= width <= 100:
        return False
    if any(len(line) < 0.6 * width or line.endswith(":") for line in leading):
        return False
    sentence_ends = sum(1 for line in leading if _SENTENCE_END.search(line))
    return sentence_ends * 2 < len(leading)


def word_count(text: str) -> int:
    return len(text.split())


def is_prose(unit: str) -> bool:
    """A sentence someone wrote for the article, as opposed to a label, link or button."""
    words = word_count(unit)
    return words >= 12 or (words >= 6 and bool(_SENTENCE_END.search(unit)))


# ---------------------------------------------------------------------------- breadcrumb

_CRUMB_SEPARATOR = re.compile(r"\s+(?:/|>|›|»|\||→|::)\s+")


def parse_breadcrumb(unit: str) -> list[str] | None:
    """``"News / Russia"`` -> ``["News", "Russia"]``; None unless the line is clearly a section path."""
    if len(unit) > 120:
        return None
    parts = [part.strip() for part in _CRUMB_SEPARATOR.split(unit)]
    if not 2 <= len(parts) <= 6:
        return None
    for part in parts:
        if not part or len(part) > 40 or word_count(part) > 4:
            return None
        if not (part[0].isupper() or part[0].isdigit()) or part[-1] in ".,;:!?":
            return None
    return parts


# ---------------------------------------------------------------------------- dateline, byline

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_ZONES = {
    "utc": 0.0,
    "gmt": 0.0,
    "z": 0.0,
    "bst": 1.0,
    "cet": 1.0,
    "cest": 2.0,
    "eet": 2.0,
    "eest": 3.0,
    "msk": 3.0,
    "irst": 3.5,
    "est": -5.0,
    "edt": -4.0,
    "cst": -6.0,
    "cdt": -5.0,
    "pst": -8.0,
    "pdt": -7.0,
}
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAY = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?"
_TIME = (
    r"(?:,?\s*(?:at\s+)?(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?\s*(?P<ampm>[ap]\.?m\.?)?"
    r"(?:\s*(?P<zone>" + "|".join(_ZONES) + r"|[+-]\d{2}:?\d{2}))?)?"
)
_DATELINE = re.compile(
    r"^(?:(?:published|updated|posted|last\s+updated|first\s+published|date)\s*(?:on)?\s*:?\s*)?"
    + _WEEKDAY
    + r"(?:"
    + _MONTH
    + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})"
    + r"|(?P<day2>\d{1,2})(?:st|nd|rd|th)?\s+"
    + _MONTH.replace("month", "month2")
    + r",?\s+(?P<year2>\d{4})"
    + r"|(?P<iso_year>\d{4})-(?P<iso_month>\d{2})-(?P<iso_day>\d{2}))"
    + _TIME
    + r"$",
    re.IGNORECASE,
)


def parse_dateline(unit: str) -> datetime | None:
    """The publication time on a line that holds nothing but a date (and maybe a time), in UTC."""
    if len(unit) > 80:
        return None
    match = _DATELINE.match(unit.strip())
    if match is None:
        return None
    fields = match.groupdict()
    try:
        if fields["iso_year"]:
            year, month, day = int(fields["iso_year"]), int(fields["iso_month"]), int(fields["iso_day"])
        else:
            year = int(fields["year"] or fields["year2"])
            month = _MONTHS[(fields["month"] or fields["month2"]).lower()]
            day = int(fields["day"] or fields["day2"])
        hour = int(fields["hour"] or 0)
        minute = int(fields["minute"] or 0)
        second = int(fields["second"] or 0)
        ampm = (fields["ampm"] or "").replace(".", "").lower()
        if ampm:
            if not 1 <= hour <= 12:
                return None
            hour = hour % 12 + (12 if ampm == "pm" else 0)
        moment = datetime(year, month, day, hour, minute, second, tzinfo=_zone(fields["zone"]))
    except ValueError:
        return None
    return as_utc(moment)


def _zone(name: str | None) -> timezone:
    if not name:
        return UTC
    lowered = name.lower()
    if lowered in _ZONES:
        return timezone(timedelta(hours=_ZONES[lowered]))
    sign = -1 if name[0] == "-" else 1
    digits = name[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


_BYLINE = re.compile(r"^by\s+(?P<names>[^.!?]{2,100})$", re.IGNORECASE)
_NAME = re.compile(r"^[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,3}$")


def parse_byline(unit: str) -> list[str] | None:
    """``"By Jane Doe and John Roe | Reuters"`` -> ``["Jane Doe", "John Roe"]``; None if not a byline."""
    match = _BYLINE.match(unit)
    if match is None:
        return None
    names_part = re.split(r"\s+[|–—-]\s+", match.group("names"))[0]
    names = [name.strip() for name in re.split(r",|\s+and\s+|\s*&\s*", names_part) if name.strip()]
    if not names or not all(_NAME.match(name) for name in names):
        return None
    return names


# ---------------------------------------------------------------------------- captions

_AGENCIES = (
    r"AFP|Reuters|AP|Associated Press|Getty(?:\s+Images)?|EPA(?:-EFE)?|EFE|Xinhua|Sputnik|TASS|"
    r"RIA\s+Novosti|Anadolu(?:\s+Agency)?|IRNA|ISNA|Tasnim|Fars|Mehr|WANA|SANA|Shutterstock|"
    r"Bloomberg|AAP|PA(?:\s+Media|\s+Wire)?|dpa|ANSA|Kyodo|Yonhap|UPI|NurPhoto|SOPA|Alamy|Pool|"
    r"Press\s+TV|Handout|File|Agencies"
)
_AGENCY_CREDIT = rf"(?:(?:photo\s+)?via\s+)?(?:{_AGENCIES})(?:\s*(?:/|via|,)\s*[^()]+)?"
_PICTURE_WORD = r"(?:photo|photograph|picture|pic|image|screenshot|screengrab|video\s+grab)s?"
_TRAILING_CREDIT = re.compile(
    rf"\(\s*(?:(?:file\s+)?{_PICTURE_WORD}\b[^()]*|[^()]*\b{_PICTURE_WORD}\s*(?:by|credit|courtesy)\b[^()]*"
    rf"|{_AGENCY_CREDIT})\s*\)\s*\.?$"
    rf"|(?:^|[.!?)”\"]\s+|\s[|–—-]\s)(?:file\s+)?{_PICTURE_WORD}\s*(?:credit|by)?\s*:\s*[^.!?]{{1,80}}\.?$"
    rf"|[.!?”\"]\s+(?:{_AGENCIES})(?:\s*/\s*(?:{_AGENCIES}|[A-Z][\w ]{{1,30}}))*\s*$",
    re.IGNORECASE,
)
_LEADING_CREDIT = re.compile(
    rf"^(?:file\s+{_PICTURE_WORD}|{_PICTURE_WORD}\s*(?:credit)?\s*:|(?:file\s+)?{_PICTURE_WORD}\s+by\b)",
    re.IGNORECASE,
)


def is_caption(unit: str) -> bool:
    """A short paragraph carrying a photo credit ("(Photo by ...)", "File photo", "(AFP)"...)."""
    if len(unit) > MAX_CAPTION_CHARS:
        return False
    return bool(_TRAILING_CREDIT.search(unit) or _LEADING_CREDIT.match(unit))


# ---------------------------------------------------------------------------- boilerplate

_SOCIAL = (
    r"facebook|twitter|x|telegram|whatsapp|instagram|youtube|linkedin|e-?mail|print|reddit|vk|tiktok|"
    r"pinterest|mastodon|bluesky|threads|messenger|sms|copy\s+link|copy|share|rss"
)
_DOMAIN = r"(?:https?://)?(?:www\.)?[\w-]+(?:\.[\w-]+)*\.[a-z]{2,24}(?:/\S*)?"
# Lines that mark where the article ends and the site's related links and buttons begin.
_TERMINATOR_PATTERNS = (
    r"share(?:\s+(?:this|the))?(?:\s+(?:article|story|post|page|link))?(?:\s+(?:on|via)\s+[\w ]{1,20})?\s*:?",
    r"(?:(?:read|see)\s+(?:more|also)|also\s+read|related(?:\s+(?:articles?|stories|news|content|topics|coverage|links))?"
    r"|more\s+on\s+this\s+(?:story|topic)|more\s+from\s+[\w’' ]{1,30}|you\s+(?:may|might)\s+also\s+like"
    r"|recommended(?:\s+for\s+you)?|most\s+(?:read|popular|viewed|shared)|top\s+stories|latest\s+(?:news|stories)"
    r"|editor[’']?s\s+picks|trending(?:\s+now)?|comments?|leave\s+a\s+(?:comment|reply)|\d+\s+comments?)\s*:?",
    r".{0,80}\bcan\s+(?:also\s+)?be\s+accessed\s+at\b.{0,80}",
)
_BOILERPLATE_PATTERNS = (
    *_TERMINATOR_PATTERNS,
    rf"{_DOMAIN}(?:[\s,|•·]+{_DOMAIN})*",
    rf"(?:(?:{_SOCIAL})[\s,|•·/]*)+",
    r"(?:©|\(c\)).{0,200}",
    r".{0,150}\ball\s+rights\s+reserved\b.{0,100}",
    r"(?:tags?|topics?|keywords?|categories|filed\s+under)\s*:.{0,300}",
    r"(?:back\s+to\s+top|print(?:\s+this)?(?:\s+(?:article|page|story))?|e-?mail(?:\s+this)?(?:\s+(?:article|story))?"
    r"|link\s+copied|report\s+an?\s+(?:error|typo|correction))",
    r"(?:advertisement|advert|sponsored(?:\s+content)?|story\s+continues\s+below(?:\s+advertisement)?)",
)
# Calls to action that could, rarely, open a real closing sentence: only taken on short lines.
_SOFT_BOILERPLATE_PATTERNS = (
    r"follow\s+(?:us|[\w’' ]{1,40}?)(?:\s+on\s+.{1,100})?",
    r"(?:subscribe|sign\s+up|join\s+(?:us|our))\b.{0,150}",
    r"(?:download|get)\s+(?:our|the)\s+(?:[\w ]{1,30}\s+)?app\b.{0,100}",
    r"copyright\b(?=.{0,80}(?:\b(?:19|20)\d{2}\b|rights\s+reserved)).{0,200}",
    r"(?:click|tap)\s+here\b.{0,100}",
)
_MAX_SOFT_BOILERPLATE_WORDS = 15
_MAX_BOILERPLATE_CHARS = 400
_TERMINATOR = re.compile("|".join(f"(?:{p})" for p in _TERMINATOR_PATTERNS), re.IGNORECASE)
_BOILERPLATE = re.compile("|".join(f"(?:{p})" for p in _BOILERPLATE_PATTERNS), re.IGNORECASE)
_SOFT_BOILERPLATE = re.compile("|".join(f"(?:{p})" for p in _SOFT_BOILERPLATE_PATTERNS), re.IGNORECASE)
# App and streaming platforms a site advertises ("Press TV News Roku"), on a short label line.
_PLATFORM = re.compile(
    r"\b(?:roku|apple\s+tv|android\s+tv|fire\s+tv|smart\s+tv|google\s+play|app\s+store|ios|android|podcasts?)\b",
    re.IGNORECASE,
)
# Lines that interrupt the body wherever they are: they are never prose.
_INTERRUPTION = re.compile(
    r"(?:advertisement|advert|sponsored(?:\s+content)?|story\s+continues\s+below(?:\s+advertisement)?"
    r"|(?:read\s+more|read\s+also|also\s+read|see\s+also|related|watch|listen)\s*:\s*[^.!?]{1,200})",
    re.IGNORECASE,
)
_LEADING_CHROME = re.compile(
    r"(?:skip\s+to\s+(?:main\s+)?content|menu|search|advertisement|sign\s+in|log\s*in|home)",
    re.IGNORECASE,
)
_SOURCE_CLUES = (
    re.compile(r"^(?P<name>[\w][\w .&’'-]{1,60}?)[’']s?\s+(?:website|site|app)\b", re.IGNORECASE),
    re.compile(
        r"^(?:©|\(c\)|copyright)\s*(?:©\s*)?(?:\d{4}(?:\s*[-–]\s*\d{4})?\s*)?"
        r"(?P<name>[A-Za-z][\w .&’'-]{1,60}?)\s*(?:\d{4})?\s*(?:[.,|]|\s+all\s+rights\s+reserved|$)",
        re.IGNORECASE,
    ),
    re.compile(r"^follow\s+(?!us\b)(?P<name>[\w][\w .&’'-]{1,40}?)\s+on\b", re.IGNORECASE),
)


def is_boilerplate(unit: str) -> bool:
    """A line of site furniture (share buttons, app links, copyright...), never article text."""
    if len(unit) > _MAX_BOILERPLATE_CHARS:
        return False
    if _BOILERPLATE.fullmatch(unit):
        return True
    words = word_count(unit)
    if words <= _MAX_SOFT_BOILERPLATE_WORDS and _SOFT_BOILERPLATE.fullmatch(unit):
        return True
    return words <= 8 and not _SENTENCE_END.search(unit) and bool(_PLATFORM.search(unit))


def split_trailing_boilerplate(units: list[str]) -> tuple[list[str], list[str]]:
    """The units without the site furniture after the article, and the furniture itself.

    A terminator ("Share this article", "Read more", "Related stories"...) cuts everything after
    it only when nothing after it is prose; then furniture lines are peeled off the end.
    """
    end = len(units)
    for index, unit in enumerate(units):
        if _TERMINATOR.fullmatch(unit) and all(
            is_boilerplate(later) or not is_prose(later) for later in units[index + 1 :]
        ):
            end = index
            break
    while end > 0 and is_boilerplate(units[end - 1]):
        end -= 1
    return units[:end], units[end:]


def source_from_boilerplate(units: list[str]) -> str | None:
    """The publisher's name when its furniture says it ("Press TV’s website...", "© 2024 X")."""
    for unit in units:
        for clue in _SOURCE_CLUES:
            match = clue.match(unit)
            if match:
                name = match.group("name").strip(" .-")
                if name and name.lower() not in {"all", "this", "our", "the"}:
                    return name
    return None


# ---------------------------------------------------------------------------- the whole page


def _same_text(a: str, b: str) -> bool:
    return clean_inline(a).casefold() == clean_inline(b).casefold()


def extract_from_text(text: str, title_hint: str | None = None) -> Extracted:
    """Structure found in raw page text (also plain "headline, blank line, paragraphs" files).

    ``title_hint`` is a headline known from elsewhere (a JSON ``title``): the text is searched for
    it instead of assuming its first line is the headline.
    """
    units = split_units(text)
    found = Extracted()

    while units and _LEADING_CHROME.fullmatch(units[0]):
        units.pop(0)
    if units and (crumbs := parse_breadcrumb(units[0])) and len(units) > 1:
        found.breadcrumb = crumbs
        found.section = crumbs[-1]
        units.pop(0)

    if title_hint:
        position = next((i for i, unit in enumerate(units[:5]) if _same_text(unit, title_hint)), None)
        if position is not None:
            found.title = units[position]
            del units[: position + 1]
    elif units and len(units[0]) <= MAX_HEADLINE_CHARS:
        found.title = units.pop(0)

    for _ in range(_MAX_META_LINES):
        if not units:
            break
        if found.published_at is None and (moment := parse_dateline(units[0])) is not None:
            found.published_at = moment
        elif not found.authors and (names := parse_byline(units[0])) is not None:
            found.authors = names
        else:
            break
        units.pop(0)

    captions: list[str] = []
    while len(units) > 1 and is_caption(units[0]):
        captions.append(units.pop(0))
    found.caption = " ".join(captions) or None

    body, furniture = split_trailing_boilerplate(units)
    found.paragraphs = [unit for unit in body if not _INTERRUPTION.fullmatch(unit)]
    found.source = source_from_boilerplate(furniture)
    return found
