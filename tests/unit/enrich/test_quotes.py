from __future__ import annotations

from pathlib import Path

import pytest

from schemas.articles import EntityType
from services.enrich.enrichers.quotes import quotes
from services.ingest.normalize import normalize
from services.ingest.parsing import TextSubmission
from tests.unit.enrich.factories import article
from tests.unit.enrich.quotes.helpers import person

SEED = Path(__file__).resolve().parents[3] / "deploy" / "samples" / "presstv-putin-xi-sco.txt"


def test_enricher_output_has_body_offsets() -> None:
    source = article(
        paragraphs=[
            "Mayor Lina Ortiz opened the bridge.",
            '"This bridge joins two halves of our city," she said.',
        ]
    )
    [quote] = quotes(source, {})["quotes"]
    assert (quote.speaker, quote.speaker_type) == ("Lina Ortiz", EntityType.PERSON)
    assert source.body[quote.offset :].startswith("This bridge joins")


@pytest.mark.skipif(not SEED.exists(), reason="the seed sample is not in this checkout")
@pytest.mark.parametrize("with_entities", [False, True])
def test_the_seed_article(with_entities: bool) -> None:
    seed = normalize(TextSubmission(SEED.read_text(encoding="utf-8")))
    entities = [person("Vladimir Putin", "Putin"), person("Xi Jinping", "Xi")] if with_entities else []
    found = quotes(seed, {"entities": entities})["quotes"]
    speakers = {quote.text.split()[0]: quote.speaker for quote in found}
    best_period = next(quote for quote in found if "best period in history" in quote.text)
    turbulent = next(quote for quote in found if "turbulent international situation" in quote.text)
    assert (best_period.speaker, turbulent.speaker) == ("Vladimir Putin", "Xi Jinping")
    ministry = next(quote for quote in found if quote.text.startswith("make contributions"))
    assert ministry.speaker in ("China's foreign ministry", None)
    assert not {"hegemony", "special", "no", "dialogue"} & set(speakers)
    assert all(seed.body[quote.offset :].startswith(quote.text[:20]) for quote in found)
