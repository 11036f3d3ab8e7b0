"""Rules of the rule backend that generalise: clubs, agencies, sentence-initial names, datelines."""

from __future__ import annotations

import pytest

from schemas.articles import EntityType
from services.enrich.enrichers.entities import extract_entities
from services.enrich.lexicon.entity_lists import gazetteers
from services.enrich.nlp.rules import RuleRecognizer
from tests.unit.enrich.factories import article

PER, ORG, LOC = EntityType.PERSON, EntityType.ORGANIZATION, EntityType.LOCATION


@pytest.fixture(scope="module")
def rules() -> RuleRecognizer:
    return RuleRecognizer()


def kinds(recognizer: RuleRecognizer, text: str) -> dict[str, EntityType]:
    return {mention.text: mention.type for mention in recognizer.mentions(text)}


def test_a_club_named_after_its_town_in_a_results_line_is_no_person(rules: RuleRecognizer) -> None:
    found = kinds(rules, "Results:\nGloria Bistrita 2 Zorbex Cluj 1\nOn Sunday Gloria Smith sang.")
    assert found["Gloria Bistrita"] is ORG  # "Gloria" is a given name, but the club plays
    assert found["Gloria Smith"] is PER


def test_a_club_with_a_place_word_in_its_name_plays_in_a_results_line(rules: RuleRecognizer) -> None:
    found = kinds(rules, "Results:\nSwindon 1 Port Vale 1\nNotts County 2 Zorbex 0")
    assert found["Port Vale"] is ORG
    assert found["Notts County"] is ORG
    assert kinds(rules, "Rain fell on the fields of Notts County on Sunday.")["Notts County"] is LOC


def test_a_town_in_brackets_after_a_player_in_a_scorers_line_is_the_club(rules: RuleRecognizer) -> None:
    found = kinds(rules, "Lyon won at home.\nScorers: Enzo Scifo (Lyon) 2, Anto Drobnjak (Bastia) 1.")
    assert found["Bastia"] is ORG and found["Anto Drobnjak"] is PER
    assert kinds(rules, "The banker John Smith (London) spoke on Monday.")["London"] is LOC


def test_a_name_followed_by_news_agency_or_newspaper_is_an_organisation(rules: RuleRecognizer) -> None:
    # "Xinhua" is also a small town's name; the noun after it says what it is here
    found = kinds(rules, "The official Xinhua news agency and the Velmore daily quoted him.")
    assert found == {"Xinhua": ORG, "Velmore": ORG}
    assert kinds(rules, "He told the Paris daily Le Monde.")["Paris"] is LOC  # a big city stays a place


def test_a_newsroom_is_an_organisation(rules: RuleRecognizer) -> None:
    assert kinds(rules, "-- Sydney Newsroom 61-2 9373-1800") == {"Sydney Newsroom": ORG}


def test_an_unknown_name_opening_a_sentence_before_a_verb_is_kept(rules: RuleRecognizer) -> None:
    assert kinds(rules, "The report came late. Zorbex has not verified the story.") == {"Zorbex": ORG}
    # ordinary words, contractions and words in capitals opening a sentence are not names
    assert kinds(rules, "Figures show higher sales. I'm sure. NOTE the date.") == {}


def test_a_datelines_city_and_state_are_places_and_never_people_or_organisations() -> None:
    story = article(
        title="Races at York",
        paragraphs=["YORK, England 1996-08-22 - Racing results from York on Thursday.", "More later."],
    )
    found = {entity.name: entity.type for entity in extract_entities(story, "rules")}
    assert found.get("England") is LOC
    assert found.get("York", LOC) is LOC and found.get("YORK", LOC) is LOC


def test_goal_scorers_and_batsmen_in_match_reports_are_people(rules: RuleRecognizer) -> None:
    text = (
        "Ajax won again.\nZorbex 2 (Nilsen 42nd, Kovacs 67th) Velmoria 1\nIjaz Ahmed c Stewart b Mullally 61"
    )
    found = kinds(rules, text)
    assert found["Nilsen"] is PER and found["Kovacs"] is PER
    assert found["Mullally"] is PER and found["Stewart"] is PER
    assert found["Zorbex"] is ORG and found["Velmoria"] is ORG


def test_a_row_of_financial_figures_is_no_team(rules: RuleRecognizer) -> None:
    text = "Results for the year, in millions.\nSales 1,234.5 1,111.2\nZorbex 2 Velmoria 1"
    found = kinds(rules, text)
    assert "Sales" not in found
    assert found["Zorbex"] is ORG


def test_a_club_whose_name_opens_with_an_ordinary_word_keeps_it_in_results(rules: RuleRecognizer) -> None:
    found = kinds(rules, "German results.\nHansa Rostock 0 Hamburg 1\nSt Pauli 4 Schalke 4")
    assert found["Hansa Rostock"] is ORG and found["St Pauli"] is ORG
    assert "Rostock" not in found and "Pauli" not in found


def test_more_titles_and_nationality_nouns_before_a_name(rules: RuleRecognizer) -> None:
    text = (
        "On Monday EU Farm Commissioner Franz Fischler met Parliament Speaker Nabih Berri, "
        "and Frenchman Cedric Pioline watched."
    )
    found = kinds(rules, text)
    assert found["Franz Fischler"] is PER and found["Nabih Berri"] is PER and found["Cedric Pioline"] is PER
    assert found["EU"] is ORG
    assert not {"EU Farm", "Frenchman", "Frenchman Cedric Pioline"} & set(found)


def test_currencies_ratings_and_figures_in_capitals_are_no_organisations(rules: RuleRecognizer) -> None:
    found = kinds(rules, "The bank sold HUF bonds rated BBB with EPS up, the Zorbex Bank said in HK.")
    assert found == {"Zorbex Bank": ORG, "HK": LOC}


def test_and_and_possessives_inside_organisation_names(rules: RuleRecognizer) -> None:
    text = (
        "The report went on Monday to the Securities and Exchange Commission, said analysts "
        "at Moody's Investors Service, while Britain's Labour Party and Lebed's Security Council waited."
    )
    found = kinds(rules, text)
    assert found["Securities and Exchange Commission"] is ORG
    assert found["Moody's Investors Service"] is ORG
    assert found["Labour Party"] is ORG and found["Britain"] is LOC
    assert found["Security Council"] is ORG and "Lebed's Security Council" not in found


def test_a_word_of_a_longer_name_is_no_organisation_of_its_own(rules: RuleRecognizer) -> None:
    text = "China grew its footprint through initiatives like the Belt and Road project, he said."
    assert kinds(rules, text) == {"China": LOC}


def test_a_place_that_takes_a_plural_verb_or_a_team_noun_is_a_side(rules: RuleRecognizer) -> None:
    text = (
        "Champions Zorbia drew again. Marseille are seventh in the league, while the Lyon club "
        "sacked its coach. Talks in Tehran and Moscow have stalled, officials in Nice said."
    )
    found = kinds(rules, text)
    assert found["Lyon"] is ORG
    assert found["Tehran"] is LOC and found["Moscow"] is LOC and found["Nice"] is LOC
    # a plural verb says "side" only in a sports story; companies take plural verbs too
    assert found["Marseille"] is LOC
    sports = text + " The striker's two goals kept them unbeaten."
    assert kinds(rules, sports)["Marseille"] is ORG


def test_a_place_and_a_plural_nickname_make_a_team(rules: RuleRecognizer) -> None:
    text = (
        "On Sunday the New York Yankees lost while Western Suburbs won. "
        "Kosovo Albanians protested and David Millns bowled."
    )
    found = kinds(rules, text)
    assert found["New York Yankees"] is ORG and found["Western Suburbs"] is ORG
    assert found.get("Kosovo Albanians") is not ORG  # a people, not a team
    assert found["David Millns"] is PER


def test_labels_of_fields_and_rows_periods_and_codes_are_no_names(rules: RuleRecognizer) -> None:
    text = (
        "The company reported results on Monday.\n"
        "Expected Sale Date: Aug 30\n"
        "Operating Income 1,234.5 1,100.2\n"
        "Barry Lane 68 70 71\n"
        "January-June sales rose, and Japan W145 Marubeni bought.\n"
        "Halftime 1-0\n"
        "Fax 44 171 542 6000"
    )
    found = kinds(rules, text)
    assert found == {"Barry Lane": PER, "Japan": LOC, "Marubeni": ORG}


def test_a_line_of_a_name_and_a_score_alone_is_a_team(rules: RuleRecognizer) -> None:
    found = kinds(rules, "Close of play scores on Friday.\nHampshire 81-7\nRain stopped play at Southampton.")
    assert found["Hampshire"] is ORG


def test_states_and_provinces_of_every_country_are_places_but_not_ordinary_words() -> None:
    lists = gazetteers()
    assert lists.is_place("Chiapas") and lists.is_place("Queensland") and lists.is_place("West Bengal")
    # Nigeria's Plateau, Kenya's Coast, South Sudan's Lakes: ordinary words, left out
    assert not lists.is_place("Plateau") and not lists.is_place("Coast") and not lists.is_place("Lakes")


def test_a_capital_the_inside_a_sentence_belongs_to_the_place(rules: RuleRecognizer) -> None:
    found = kinds(rules, "Pakistan batted on at The Oval on Saturday.")
    assert found == {"Pakistan": LOC, "The Oval": LOC}


def test_a_name_followed_by_the_kind_of_place_is_a_place(rules: RuleRecognizer) -> None:
    found = kinds(rules, "A spokesman for Zorbex airport said the Velmor tunnel was shut.")
    assert found == {"Zorbex": LOC, "Velmor": LOC}


def test_a_state_abbreviation_keeps_its_full_stop() -> None:
    story = article(
        title="Plant opens",
        paragraphs=["The company opened a plant in Fresno, Calif., and one in Boulder, Colo."],
    )
    names = {entity.name for entity in extract_entities(story, "rules")}
    assert {"Calif.", "Colo."} <= names


def test_a_capitalised_plural_after_the_is_a_team_and_some_bodies_stand_alone(rules: RuleRecognizer) -> None:
    text = "The Orioles beat the Zorbers on Monday, and the Commission and the Treasury met in the Alps."
    found = kinds(rules, text)
    assert found["Zorbers"] is ORG
    assert found["Commission"] is ORG and found["Treasury"] is ORG
    assert found["Alps"] is LOC


def test_in_a_sports_story_a_town_is_a_club_unless_it_is_the_venue(rules: RuleRecognizer) -> None:
    text = (
        "LISBON 1996-08-22\n"
        "Benfica scored twice in the second half to beat a tired Setubal side, while "
        "Legia Warsaw kept their unbeaten league record in Lisbon. The striker's goals came "
        "after a penalty, and the coach praised the season's start."
    )
    found = kinds(rules, text)
    assert found["Benfica"] is ORG and found["Setubal"] is ORG and found["Legia Warsaw"] is ORG
    assert found["Lisbon"] is LOC and found["LISBON"] is LOC
    # the same towns in a story about something else stay places
    assert kinds(rules, "Setubal and Benfica residents voted on Monday.")["Setubal"] is LOC


def test_a_capital_the_before_a_known_place_and_a_country_after_a_name(rules: RuleRecognizer) -> None:
    text = "Prices rose, said The Hamburg report. The contract went to Ludvika Sweden on Monday."
    found = kinds(rules, text)
    assert found["Hamburg"] is LOC and "The Hamburg" not in found
    assert found["Ludvika Sweden"] is ORG  # a given name first, but a country last: a company


def test_people_behind_descriptions_particles_and_compound_names(rules: RuleRecognizer) -> None:
    text = (
        "On Sunday Veteran Italian Gianni Bugno rode with South African Amanda Coetzer, and "
        "Edwin van der Sar, Ronnie Irani, Inzamam-ul-Haq and Jordan's PM Kabariti watched "
        "the Jamaat-i-Islami rally."
    )
    found = kinds(rules, text)
    for person in ("Gianni Bugno", "Amanda Coetzer", "Edwin van der Sar", "Ronnie Irani", "Inzamam-ul-Haq"):
        assert found.get(person) is PER, person
    assert found["Kabariti"] is PER and found["Jordan"] is LOC
    assert found.get("Jamaat-i-Islami") is not PER
    assert "Veteran Italian Gianni Bugno" not in found


def test_a_business_story_with_a_few_sporty_words_is_no_sports_story(rules: RuleRecognizer) -> None:
    text = (
        "The company's goal this season is growth. Its coach services won a cup for service, and "
        "Setubal plants paid a penalty in the championship of cost cutting."
    )
    assert kinds(rules, text)["Setubal"] is LOC


def test_a_capital_the_before_a_title_of_a_work_is_no_place(rules: RuleRecognizer) -> None:
    found = kinds(rules, "She starred in The Aviator last year, and the Women of the town watched.")
    assert "The Aviator" not in found and "Women" not in found


def test_names_with_a_lower_case_arabic_particle(rules: RuleRecognizer) -> None:
    text = "Prime Minister Abdul-Karim al-Kabariti met Hassan al-Turabi; the al-Akhbar daily reported it."
    found = kinds(rules, text)
    assert found["Abdul-Karim al-Kabariti"] is PER and found["Hassan al-Turabi"] is PER
    assert found["al-Akhbar"] is ORG


def test_in_a_sports_story_leagues_are_competitions_and_a_word_that_plays_is_a_club(
    rules: RuleRecognizer,
) -> None:
    text = (
        "Celtic beat Hibernian 2-0 to stay top of the Premier League, the striker scoring both "
        "goals before halftime. Rangers lost."
    )
    found = kinds(rules, text)
    assert found["Celtic"] is ORG and found["Hibernian"] is ORG
    assert "Premier League" not in found
    assert kinds(rules, "The Arab League met in Cairo on Monday.")["Arab League"] is ORG


def test_codes_after_a_name_and_regions_without_a_state(rules: RuleRecognizer) -> None:
    text = "Analysts said Mexico GDP rose while Sabourin CFO Ann Lee visited Corsica and Saxony."
    found = kinds(rules, text)
    assert found["Mexico"] is LOC and "Mexico GDP" not in found
    assert found["Corsica"] is LOC and found["Saxony"] is LOC


def test_a_club_of_two_ordinary_words_in_a_sports_story(rules: RuleRecognizer) -> None:
    sports = "Crystal Palace won the league match, their striker scoring two goals before halftime."
    assert kinds(rules, sports)["Crystal Palace"] is ORG
    assert kinds(rules, "Crystal Palace hosted a concert on Monday.").get("Crystal Palace") is not ORG


def test_a_nationality_before_news_agency_is_no_agency(rules: RuleRecognizer) -> None:
    found = kinds(rules, "The Polish news agency PAP and the Italian daily Zorbia reported it.")
    assert "Polish" not in found and "Italian" not in found
    assert found["PAP"] is ORG


def test_club_prefixes_make_a_club_but_initials_stay_a_person(rules: RuleRecognizer) -> None:
    text = (
        "Results came in.\n"
        "F.C. Brasov beat AC Milan and VfB Stuttgart, while A.S. Byatt and A.J. Smith watched."
    )
    found = kinds(rules, text)
    assert found["F.C. Brasov"] is ORG and found["AC Milan"] is ORG and found["VfB Stuttgart"] is ORG
    assert found["A.S. Byatt"] is PER and found["A.J. Smith"] is PER


def test_in_a_sports_story_two_unknown_words_ending_in_a_town_are_a_club(rules: RuleRecognizer) -> None:
    sports = "Chemlon Humenne won the league match, their striker scoring two goals before halftime."
    assert kinds(rules, sports)["Chemlon Humenne"] is ORG
    assert kinds(rules, "Chemlon Humenne spoke to reporters on Monday.")["Chemlon Humenne"] is PER


def test_a_given_name_that_is_also_a_demonym_opens_a_persons_name(rules: RuleRecognizer) -> None:
    found = kinds(rules, "Squad named.\nForwards - Oliver Bierhoff, Christian Zorbeck, Jens Todt")
    assert found["Christian Zorbeck"] is PER and "Zorbeck" not in found
    assert "Christian Democrats" not in kinds(rules, "He met the Christian Democrats on Monday.")


def test_a_player_with_a_country_after_the_name_keeps_an_ordinary_first_word(rules: RuleRecognizer) -> None:
    found = kinds(rules, "Results on Monday.\nMats Zorbander (Sweden) beat Tim Henman (Britain) 6-2 6-3")
    assert found["Mats Zorbander"] is PER and "Zorbander" not in found
    assert "Mats Zorbander" not in kinds(rules, "The rain fell.\nMats Zorbander 1,234 5,678")


def test_a_nationality_before_a_ministry_or_senate_says_whose_it_is(rules: RuleRecognizer) -> None:
    found = kinds(rules, "A visit was planned, the Turkish Foreign Ministry said. The Brazilian Senate met.")
    assert found["Foreign Ministry"] is ORG and "Turkish Foreign Ministry" not in found
    assert found["Senate"] is ORG
    assert kinds(rules, "He met the Chinese Communist Party and the Irish Navy.")["Irish Navy"] is ORG


def test_a_newspaper_heading_its_items_in_a_press_review_is_an_organisation(rules: RuleRecognizer) -> None:
    text = "Headlines.\nZORBIA NUEVA\n- Bus drivers strike.\nFRONT PAGE\n-- Rain falls.\nIRAQ\n- Rice."
    found = kinds(rules, text)
    assert found["ZORBIA NUEVA"] is ORG
    assert "FRONT PAGE" not in found and found["IRAQ"] is LOC
    assert "ZORBIA NUEVA" not in kinds(rules, "The story.\nZORBIA NUEVA\nBus drivers strike.")


def test_a_company_in_a_row_of_a_table_of_dates_loses_the_day_and_codes(rules: RuleRecognizer) -> None:
    text = "Company dates follow.\nMON Zorbex YR EPS 93.12 92.0-94.5\nTUE McCarthy YR DIV N / A 49.0"
    found = kinds(rules, text)
    assert found["Zorbex"] is ORG and found["McCarthy"] is ORG
    assert not any("YR" in name or "MON" in name for name in found)


def test_a_hospital_is_a_place_but_a_player_of_that_name_stays_a_person(rules: RuleRecognizer) -> None:
    found = kinds(rules, "He was taken to the Zorbia General Hospital on Monday.")
    assert found["Zorbia General Hospital"] is LOC
    scores = "Scores after the first round.\n73 Ross McFarlane, Domingo Hospital (Spain), Seve Ballesteros"
    assert kinds(rules, scores)["Domingo Hospital"] is PER


def test_a_title_opening_a_sentence_makes_an_unknown_name_a_person(rules: RuleRecognizer) -> None:
    found = kinds(rules, "The king tells China.\nKing Zorbendra left Nepal on Friday.")
    assert found["Zorbendra"] is PER


def test_an_acronym_of_lower_case_words_is_a_term_not_an_organisation(rules: RuleRecognizer) -> None:
    text = "Cows got bovine spongiform encephalopathy (BSE). BSE spread. The Zorbia Trade Union (WTO) met."
    found = kinds(rules, text)
    assert "BSE" not in found
    assert found["WTO"] is ORG


def test_a_telephone_label_after_a_desk_is_no_part_of_its_name(rules: RuleRecognizer) -> None:
    found = kinds(rules, "Figures follow.\n- Zorbia Cargo Newsroom Tel+44 161 542 7706 Fax+44 171 542 5017")
    assert found["Zorbia Cargo Newsroom"] is ORG and "Zorbia Cargo Newsroom Tel" not in found


def test_a_club_with_its_country_in_cup_results_is_no_person(rules: RuleRecognizer) -> None:
    text = "Cup results.\nRuch Chorzow (Poland) 5 Zorbia Town (Wales) 0\nx-PAO v Legia Warsaw (Italy)"
    found = kinds(rules, text)
    assert found["Ruch Chorzow"] is ORG and found["Legia Warsaw"] is ORG
    standings = kinds(
        rules, "Drivers' standings:\n1. Damon Hill (Britain) 63\n2. Ato Boldon (Trinidad) 10.12"
    )
    assert standings["Damon Hill"] is PER and standings["Ato Boldon"] is PER


def test_a_place_joined_to_an_acronym_by_a_hyphen_names_no_body(rules: RuleRecognizer) -> None:
    found = kinds(rules, "Talks on the Israel-PLO peace process and the Russia-China deal went on.")
    assert "Israel-PLO" not in found and "PLO" not in found
    assert found["Russia"] is LOC and found["China"] is LOC


def test_a_players_first_name_opening_a_results_line_stays_with_the_surname(rules: RuleRecognizer) -> None:
    found = kinds(rules, "Results on Monday.\nDally Zorbantefy (Madagascar) beat Jane Chi (U.S.) 6-3 6-2")
    assert found["Dally Zorbantefy"] is PER and "Zorbantefy" not in found


def test_a_carmaker_and_a_model_name_a_car_not_a_company(rules: RuleRecognizer) -> None:
    found = kinds(rules, "He drove a Toyota Zorbica for Toyota Motor and Ford Credit.")
    assert "Toyota Zorbica" not in found
    assert found["Toyota Motor"] is ORG and found["Ford Credit"] is ORG
    scorers = kinds(rules, "Scorers:\nRishon - Moshe Sabag (10th minute), Nissan Kapeta (26th),")
    assert scorers["Nissan Kapeta"] is PER


def test_in_a_sports_story_a_name_holding_league_or_division_is_a_competition(rules: RuleRecognizer) -> None:
    sports = "Results of Major League Baseball and Division A: the striker scored two goals before halftime."
    found = kinds(rules, sports)
    assert "Major League Baseball" not in found and "Division A" not in found
    assert "Major League Baseball" in kinds(rules, "Major League Baseball signed a television deal.")


def test_in_a_sports_story_a_cup_or_the_bundesliga_is_a_competition(rules: RuleRecognizer) -> None:
    sports = "In the Cup Winners' Cup and the Bundesliga the striker scored two goals before halftime."
    found = kinds(rules, sports)
    assert "Cup Winners" not in found and "Bundesliga" not in found


def test_and_joins_a_us_agency_named_from_ordinary_words(rules: RuleRecognizer) -> None:
    text = "He wrote to the U.S. Securities and Exchange Commission and to Ford and General Motors Corp."
    found = kinds(rules, text)
    assert found["U.S. Securities and Exchange Commission"] is ORG
    assert "Ford and General Motors Corp" not in found


def test_a_name_ending_in_daily_is_a_newspaper(rules: RuleRecognizer) -> None:
    found = kinds(rules, "The overseas edition of the People's Daily quoted Tang on Monday.")
    assert found["People's Daily"] is ORG and "People" not in found
