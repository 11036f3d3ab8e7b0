from bench.speed.enrich_cpu import summary


def test_summary_takes_percentiles_and_mean_of_the_per_article_figures() -> None:
    figures = [float(value) for value in range(1, 101)]
    assert summary(figures) == {"articles": 100, "p50": 50.5, "p95": 95.05, "mean": 50.5}


def test_summary_of_nothing_is_not_a_number_rather_than_an_error() -> None:
    result = summary([])
    assert result["articles"] == 0
    assert result["mean"] != result["mean"]
