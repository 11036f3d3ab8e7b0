"""Personal names and what stands before them: titles, honorifics, given names and surnames.

Given names come from the US census lists of ``names`` (MIT), the person data of ``mimesis`` (MIT,
some 50 locales) and, only when the optional extra ``names-intl`` installs it, ``gender-guesser``'s
name dictionary (GPL-3.0 code, GFDL data: not in the default install); surnames from ``names``.
The title lists are ours. Loaded once per process, on first use, from installed packages.
"""

from __future__ import annotations

import json
import re
from functools import cache

from services.enrich.lexicon.loader import census_names, packaged_text, packaged_texts, word_set
from services.enrich.lexicon.words import FUNCTION_WORDS, is_common_word

#: Words that precede and qualify a person's name ("President Putin", "Ms Hewitt").
PERSON_TITLES = word_set(
    """
    mr mrs ms miss mx dr sir dame lord lady baroness baron president vice-president premier
    chancellor secretary senator sen congressman congresswoman representative rep governor gov
    mayor king queen prince princess emperor empress pope cardinal bishop archbishop rabbi imam
    ayatollah sheikh sheik emir sultan general gen colonel col lieutenant lt major maj captain capt
    sergeant sgt admiral adm commander corporal private marshal judge justice chairman chairwoman
    chairperson ambassador envoy spokesman spokeswoman spokesperson professor prof coach manager
    striker midfielder defender goalkeeper keeper batsman bowler skipper champion minister
    vice deputy prime foreign defence defense interior finance economy trade health home state
    chief executive director leader father brother sister saint st rev reverend pastor
    counterpart commissioner inspector detective officer agent attorney lawyer councillor
    president-elect dictator tsar czar assistant under ceo cfo coo speaker patriarch trainer
    secretary-general under-secretary undersecretary doctor administrator pm attorney-general
    """
)

#: The core title words: only these make a following capitalised name a person by themselves.
STRONG_TITLES = word_set(
    """
    mr mrs ms miss mx dr sir dame lord lady baroness president premier chancellor senator sen
    congressman congresswoman rep governor gov mayor king queen prince princess emperor pope
    cardinal archbishop rabbi imam ayatollah sheikh sheik emir sultan general gen colonel col
    lieutenant lt maj capt sgt admiral adm judge justice ambassador envoy spokesman spokeswoman
    professor prof coach striker midfielder defender goalkeeper batsman bowler skipper minister
    secretary president-elect counterpart chairman chairwoman director ceo commissioner speaker
    patriarch trainer secretary-general under-secretary undersecretary doctor bishop captain pm
    attorney-general
    """
)

#: Lower-case words right before a capitalised name that make it a person ("striker Alan Shearer").
PERSON_CUES = word_set(
    """
    striker midfielder defender goalkeeper keeper batsman bowler skipper coach manager captain
    president minister secretary chairman chairwoman spokesman spokeswoman leader chief envoy
    ambassador senator governor mayor colleague counterpart son daughter wife husband brother sister
    mother father singer actor actress writer author player rider driver champion veteran
    """
)

#: Capitalised words that can stand before a name without being part of it ("Home Secretary Charles
#: Clarke"): the quotes' name finder.
TITLE_WORDS = word_set(
    """
    Mr Mrs Ms Miss Dr Sir Lord Lady Dame Prof Professor President Vice Premier Prime Minister
    Chancellor Secretary Foreign Home Shadow Deputy Chief Executive Chairman Chairwoman Director
    General Attorney Judge Justice Senator Senate Governor Mayor King Queen Prince Princess Pope
    Archbishop Bishop Rev Reverend Father Colonel Captain Sergeant Officer Inspector Detective
    Superintendent Commissioner Ambassador Agent Coach Manager Analyst Leader Labour Tory Tories
    Conservative Liberal Democrat Democrats Republican Lib Dem MP MEP Health Education Environment
    Defence Defense Culture Trade Industry Transport Treasury Business Sports Sport Spokesman
    Spokeswoman Boss Striker Midfielder Defender Goalkeeper Skipper Captain Star Actor Actress
    Singer Director Producer Presenter Chef Author Writer Novelist Rapper Designer Matchwinner
    Former Ex Veteran Legend Champion Officials Official Economist Strategist Envoy Councillor Cllr
    Senior Junior Interim Acting Head State Affairs Opposition Party Group National Team Co Founder
    Chief-Executive Vice-President Man-of-the-match Delegate Candidate Nominee Winner Runner-up But
    And However Meanwhile Earlier Later Yesterday Today Now Then Also Still So Yet Instead Speaking
    Asked Writing In On At For From With By As After Before Since When While If
    """
)

#: Honorifics that open a personal name ("Mr Brown", "Dr. Smith").
HONORIFICS = frozenset(
    {"Mr", "Mrs", "Ms", "Miss", "Dr", "Sir", "Lord", "Lady", "Dame", "Prof", "Mr.", "Mrs.", "Ms.", "Dr."}
)
#: Honorifics that say the person is a woman.
FEMALE_HONORIFICS = frozenset({"Mrs", "Ms", "Miss", "Lady", "Dame", "Mrs.", "Ms."})

#: Capitalised function words and titles: never a given name or surname ("The", "President").
NEVER_NAMES = frozenset({word.title() for word in FUNCTION_WORDS} | {word.title() for word in PERSON_TITLES})

#: A given name as the lists write it: a capital, then lower-case Latin letters, apostrophes, hyphens.
_LATIN_NAME = re.compile(r"^[A-Z][a-z\u00C0-\u024F'-]+$")

#: Chinese, Korean and Vietnamese family names, which news writes first and then alone ("Xi Jinping"...
#: "Xi said"); census and mimesis lists miss most of them in Latin letters. Ours.
EAST_ASIAN_FAMILY_NAMES = word_set(
    """
    Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo Gao Lin Luo Zheng Liang Xie Song
    Tang Han Feng Deng Cao Peng Zeng Xiao Tian Dong Yuan Pan Yu Jiang Cai Du Ye Cheng Wei Su Lu Ding Ren
    Shen Yao Cui Zhong Tan Fan Jin Shi Liao Jia Xia Fu Fang Bai Zou Meng Xiong Qin Qiu Yin Xue Yan Duan
    Lei Hou Long Tao Gu Mao Hao Gong Shao Wan Qian Dai Mo Kong Xiang Xi Bo Qiao Kim Lee Park Choi Jung
    Kang Cho Yoon Jang Lim Oh Seo Shin Kwon Hwang Ahn Yoo Hong Jeon Ko Moon Son Bae Baek Heo Nam Roh Noh
    Nguyen Tran Le Pham Hoang Phan Vu Vo Dang Bui Ho Ngo Duong Ly
    """
)

#: Rarer entries of these lists are mostly ordinary words ("Nations", "Daily", "Red", "Star").
MAX_SURNAME_RANK = 10_000
MIN_GIVEN_NAME_FREQUENCY = 2

#: First words of place names that the name dictionaries also list as given names.
_PLACE_NAME_PREFIXES = word_set("New San Santa Los Las El Al Le La Saint Port Fort Mount Lake")


@cache
def given_names() -> frozenset[str]:
    """The one given-name list: census and ``mimesis`` names, and ``gender-guesser``'s when installed."""
    return frozenset(_given_names() - (NEVER_NAMES | _PLACE_NAME_PREFIXES))


@cache
def surnames() -> frozenset[str]:
    """The 10,000 commonest US census surnames."""
    return frozenset(census_names("dist.all.last", limit=MAX_SURNAME_RANK) - NEVER_NAMES)


def _given_names() -> set[str]:
    found = census_names("dist.male.first", limit=5_000) | census_names("dist.female.first", limit=5_000)
    return found | _mimesis_names() | EAST_ASIAN_FAMILY_NAMES | _gender_guesser_names()


def _mimesis_names() -> set[str]:
    """The male and female names of every ``mimesis`` locale written in Latin letters, but for ordinary
    English words ("Sales", "Will"): a lone capitalised word that is both is rarely a person."""
    found: set[str] = set()
    for text in packaged_texts("mimesis", "datasets", "person.json"):
        for names in json.loads(text).get("names", {}).values():
            found.update(name for name in names if _LATIN_NAME.match(name))
    return {name for name in found if not is_common_word(name)}


def _gender_guesser_names() -> set[str]:
    """Names of ``gender-guesser``'s dictionary common enough in one country; empty without the extra."""
    found: set[str] = set()
    text = packaged_text("gender_guesser", "data", "nam_dict.txt")
    if text is None:
        return found
    for line in text.splitlines():
        if not line or line[0] in "#=":
            continue
        parts = line.split()
        # Columns 30 on: how common the name is in each of ~55 countries, 1 (rare) to D (very common).
        frequencies = [int(char, 16) for char in line[30:85] if char in "123456789ABCD"]
        if len(parts) >= 2 and frequencies and max(frequencies) >= MIN_GIVEN_NAME_FREQUENCY:
            name = parts[1]
            if "+" in name:
                found.add(name.replace("+", "-"))
            elif name.isalpha():
                found.add(name)
    return found
