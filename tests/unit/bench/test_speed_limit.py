"""Which L configurations get a full load."""

from __future__ import annotations

from bench.speed.limit import Trial, finalists_of


def trial(chunk_size: int, threads: int, refresh: str, per_s: float) -> Trial:
    return Trial(
        chunk_size, threads, refresh, documents=3000, seconds_to_searchable=3000 / per_s, per_s=per_s
    )


def test_the_fastest_configurations_load_in_full() -> None:
    grid = [trial(500, 1, "-1", 900), trial(2000, 4, "-1", 1600), trial(1000, 4, "-1", 1500)]

    assert finalists_of(grid, 2) == [grid[1], grid[2]]


def test_every_refresh_setting_loads_in_full_even_when_the_sample_ranks_it_last() -> None:
    # As in run 224c33a4: on the sample, refreshing loads came first; refresh off must still be tried.
    grid = [
        trial(2000, 4, "1s", 1088),
        trial(1000, 4, "1s", 1064),
        trial(2000, 2, "-1", 993),
        trial(500, 1, "-1", 700),
    ]

    chosen = finalists_of(grid, 2)

    assert chosen == [grid[0], grid[1], grid[2]]
    assert {t.refresh_during_load for t in chosen} == {"1s", "-1"}
