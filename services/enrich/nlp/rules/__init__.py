"""Rule-based recognition: capitalised word sequences typed by gazetteers and context.

Fast (a few milliseconds per article) and dependency-light. A capitalised sequence (with links
such as "of", "van", "&") is a candidate; it is split at person titles ("Russian President
Vladimir Putin" -> "Vladimir Putin") and typed by, in order: place gazetteers, event/law words
(dropped), organisation and place words ("... Bank", "Ministry of ...", "... Road"), acronyms,
person cues (titles, initials, given names), sports context (a city followed by a score or "beat"
is a club), place context ("in X", "X, Ontario"), the shape of a personal name and finally a
default of organisation. Ordinary English words and sentence-initial words need evidence.
Lines in capitals or Title Case carry no case information; only gazetteer names are taken from them.

Modules, one concept each: ``tokens`` (tokens, lines, headlines), ``context`` (one text's state),
``spans`` (candidate name spans), ``organisations``, ``places``, ``persons`` and ``sports`` (the
context rules of each kind), ``filters`` (labels and ordinary words that name nothing) and
``classify`` (the order in which the rules type a span).
"""

from __future__ import annotations

from services.enrich.lexicon.entity_lists import Gazetteers, gazetteers
from services.enrich.nlp.mentions import Mention
from services.enrich.nlp.rules.classify import NameClassifier
from services.enrich.nlp.rules.context import LOC, ORG
from services.enrich.nlp.rules.organisations import is_press_review_title
from services.enrich.nlp.rules.tokens import Token, is_headline, split_lines, tokenize

__all__ = ["RuleRecognizer", "Token", "tokenize"]


class RuleRecognizer:
    """Capitalisation + gazetteers + generic context rules."""

    name = "rules"

    def __init__(self, lists: Gazetteers | None = None) -> None:
        self._lists = lists

    @property
    def lists(self) -> Gazetteers:
        if self._lists is None:
            self._lists = gazetteers()
        return self._lists

    def mentions(self, text: str) -> list[Mention]:
        tokens = tokenize(text)
        if not tokens:
            return []
        found: list[Mention] = []
        context = NameClassifier(text, tokens, self.lists)
        single_line = "\n" not in text.strip()
        lines = split_lines(tokens)
        for line_tokens, next_line in zip(lines, [*lines[1:], []], strict=True):
            if is_press_review_title(text, line_tokens, next_line, self.lists):
                start, end = line_tokens[0].start, line_tokens[-1].end
                found.append(Mention(start, end, text[start:end], ORG))  # a newspaper in a press review
            elif is_headline(line_tokens, title_case_counts=single_line):
                found.extend(context.gazetteer_mentions(line_tokens))
            else:
                found.extend(context.prose_mentions(line_tokens))
        return _teams_everywhere(found, context.teams)


def _teams_everywhere(found: list[Mention], teams: set[str]) -> list[Mention]:
    """A place that plays in a results line of this text is the club in its other mentions too."""
    if not teams:
        return found
    return [
        Mention(mention.start, mention.end, mention.text, ORG)
        if mention.type is LOC and mention.text in teams
        else mention
        for mention in found
    ]
