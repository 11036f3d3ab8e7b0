"""Direct quotes in a text and who said them: what the quotes enricher runs.

A quote is text in double quotes (straight or curly) that is a sentence or at least five words;
shorter quoted phrases ("hegemony", "no limits") are scare quotes unless they are a whole attributed
utterance ("I resign," he said). Journalistic conventions handled:

* attribution after the quote (``"…," said Mr Brown`` / ``"…," the Russian president said``) or
  before it (``Mr Brown said: "…"`` / ``Xi told Putin "…"`` / ``According to X, "…"``);
* a quote running over several paragraphs, each opening with a quote mark and only the last one
  closed, is one quote;
* a quote without its own attribution continues the previous speaker (``"…," he said. "…"``), and
  a paragraph that is only a quote belongs to whoever was speaking or being talked about just before;
* pronouns and role phrases ("the Russian president", "the Chelsea striker") resolve to a person
  named in the article: through the aliases of the entities enricher's output when it ran, else
  through the titles and names seen in the text itself.

Speakers are canonical names: the entity's name when the entities enricher knows the person or
organisation, else the fullest form of the name in the article ("Ms Hewitt" -> "Patricia Hewitt").
A quote whose speaker cannot be resolved is kept with ``speaker=None`` only when an attribution verb
shows it is a quote at all.

Modules: :mod:`.spans` finds the quoted stretches, :mod:`.names` turns mentions into canonical
names, :mod:`.attribution` reads who a clause names as the speaker, :mod:`.finder` puts them
together (``find_quotes``); the enricher itself is ``services.enrich.enrichers.quotes``.
"""
