"""One text's tokens and what they say about each other: the state every rule reads."""

from __future__ import annotations

from schemas.articles import EntityType
from services.enrich.lexicon.entity_lists import Gazetteers
from services.enrich.lexicon.loader import word_set
from services.enrich.nlp.mentions import Mention
from services.enrich.nlp.rules.tokens import Token

PER, ORG, LOC = EntityType.PERSON, EntityType.ORGANIZATION, EntityType.LOCATION

SPORTS_WORDS = word_set(
    """
    goals scorer scorers striker strikers midfielder defender goalkeeper league innings wicket wickets
    batting bowled homer inning pitcher halftime half-time unbeaten standings playoff playoffs
    semifinal quarterfinal fixtures relegation soccer football cricket rugby baseball basketball hockey
    """
)


class TextContext:
    """One text's tokens and what they say about each other (which words occur in lower case)."""

    def __init__(self, text: str, tokens: list[Token], lists: Gazetteers) -> None:
        self.text = text
        self.tokens = tokens
        self.lists = lists
        self.index = {id(token): position for position, token in enumerate(tokens)}
        self.lowercase_words = {
            token.text for token in tokens if token.kind == "word" and token.text.islower()
        }
        self.teams: set[str] = set()
        #: A sports story (three or more distinct sports words): its towns that play are clubs.
        self.sports = len({token.text.lower() for token in tokens} & SPORTS_WORDS) >= 3
        self.line_stats: dict[int, tuple[int, int]] = {}  # line -> (numbers, long lower-case words)
        for token in tokens:
            numbers, lowercase = self.line_stats.get(token.line, (0, 0))
            if token.kind == "number":
                numbers += 1
            elif token.kind == "word" and token.text.islower() and len(token.text) > 3:
                lowercase += 1
            self.line_stats[token.line] = (numbers, lowercase)
        self.mid_sentence_caps = {
            token.text for token in tokens if token.capitalised and not token.sentence_start
        }

    def _neighbours(self, span: list[Token]) -> tuple[list[Token], list[Token]]:
        """Up to three tokens before and after the span, on the same line."""
        first = self.index.get(id(span[0]))
        last = self.index.get(id(span[-1]))
        if first is None or last is None:
            return [], []
        line = span[0].line
        before = [token for token in self.tokens[max(first - 3, 0) : first] if token.line == line]
        after = [token for token in self.tokens[last + 1 : last + 4] if token.line == line]
        return before, after

    def _nationality_follows(self, span: list[Token]) -> bool:
        """'Ato Boldon (Trinidad)': results give a person's country after the name."""
        _, after = self._neighbours(span)
        return (
            len(after) >= 3
            and after[0].text == "("
            and after[2].text == ")"
            and (self.lists.is_country(after[1].text) or after[1].text in ("U.S.", "US", "USA"))
        )

    def _after_article(self, token: Token) -> bool:
        """'the Belt and Road': a name after 'the' is not a person's."""
        position = self.index.get(id(token), 0)
        return position > 0 and self.tokens[position - 1].text.lower() == "the"

    def _opens_line(self, span: list[Token]) -> bool:
        first = self.index.get(id(span[0]))
        return first is not None and (first == 0 or self.tokens[first - 1].line != span[0].line)

    def _surface(self, span: list[Token]) -> str:
        return self.text[span[0].start : span[-1].end]

    def _mention(self, span: list[Token], kind: EntityType) -> Mention:
        return Mention(span[0].start, span[-1].end, self._surface(span), kind)
