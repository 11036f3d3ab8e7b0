from services.enrich.lexicon.regions import CA_PROVINCES, US_STATE_ABBREVIATIONS, US_STATES
from services.enrich.nlp.datelines import find_dateline


def test_every_state_and_province_has_a_distinct_geonames_code() -> None:
    assert len(US_STATES) == 51  # fifty states and the District of Columbia
    assert len({admin1 for admin1, _ in US_STATES.values()}) == 51
    # Newfoundland is listed under its old and its current name, with one code.
    assert len({admin1 for admin1, _ in CA_PROVINCES.values()}) == len(CA_PROVINCES) - 1


def test_running_text_reads_only_abbreviations_that_are_not_also_words() -> None:
    assert {"Calif.", "Va.", "N.Y.", "W.Va.", "Wisc."} <= US_STATE_ABBREVIATIONS
    assert not {"Miss.", "Ill.", "Wash.", "Me.", "La.", "Mo."} & US_STATE_ABBREVIATIONS


def test_datelines_read_the_abbreviations_running_text_leaves_out() -> None:
    # "Miss." is too ambiguous in a sentence, but after a dateline's city it can only be the state.
    dateline = find_dateline("JACKSON, Miss., March 3 - The governor said")
    assert dateline is not None
    assert (dateline.name, dateline.region, dateline.country) == ("Jackson", "Mississippi", "US")
