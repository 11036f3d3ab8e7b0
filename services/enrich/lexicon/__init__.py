"""Every word list and place table the enrichers read, and the one way they are loaded.

* :mod:`.loader`: written word lists (``word_set``) and data files of installed packages;
* :mod:`.words`: function words, clause openers, Webster's Second;
* :mod:`.names`: titles, honorifics, the one given-name list, surnames;
* :mod:`.organisations`: words that end or open organisation names, acronyms that are none;
* :mod:`.places` and :mod:`.place_tables`: the place gazetteer (names -> countries, coordinates);
* :mod:`.place_names`: place names and demonyms as plain sets for the rule-based recogniser;
* :mod:`.entity_lists`: the recogniser's lists, loaded together once per process.

Nothing is downloaded: lists are written here or read from packages the project installs.
"""
