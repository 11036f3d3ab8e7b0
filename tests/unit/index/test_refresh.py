"""Catch-up mode's decisions against a recording stand-in for ``Elasticsearch.indices``."""

from __future__ import annotations

from typing import Any

from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import ApiError

from services.index.refresh import CatchUpRefresh, normal_refresh_interval


class RecordingIndices:
    def __init__(self, current: str = "1s", fail_puts: int = 0) -> None:
        self.current = current
        self.fail_puts = fail_puts
        self.puts: list[str] = []
        self.refreshes = 0

    def get_settings(self, *, index: str, name: str) -> Any:
        return {"articles-v1": {"settings": {"index": {"refresh_interval": self.current}}}}

    def put_settings(self, *, index: str, settings: dict[str, Any]) -> Any:
        if self.fail_puts:
            self.fail_puts -= 1
            meta = ApiResponseMeta(503, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "localhost", 9200))
            raise ApiError("unavailable", meta, {})
        self.current = settings["index"]["refresh_interval"]
        self.puts.append(self.current)
        return {"acknowledged": True}

    def refresh(self, *, index: str) -> Any:
        self.refreshes += 1
        return {}


def controller(indices: RecordingIndices, **kwargs: Any) -> CatchUpRefresh:
    kwargs.setdefault("catch_up_lag", 1000)
    kwargs.setdefault("leave_below_lag", 100)
    return CatchUpRefresh(indices, catch_up_interval="30s", **kwargs)


def test_normal_interval_comes_from_the_index_template() -> None:
    assert normal_refresh_interval() == "1s"


def test_enters_at_the_threshold_and_leaves_below_a_batch_with_a_refresh() -> None:
    indices = RecordingIndices()
    catch_up = controller(indices)
    for lag in (10, 999):
        catch_up.observe(lag)
    assert indices.puts == [] and not catch_up.catching_up
    for lag in (1000, 5000, 800, 100):
        catch_up.observe(lag)
    assert indices.puts == ["30s"] and catch_up.catching_up
    assert indices.refreshes == 0
    catch_up.observe(99)
    assert indices.puts == ["30s", "1s"] and not catch_up.catching_up
    assert indices.refreshes == 1  # what was written is searchable at once
    catch_up.observe(0)
    assert indices.puts == ["30s", "1s"]  # only transitions touch the setting


def test_unknown_lag_and_disabled_mode_change_nothing() -> None:
    indices = RecordingIndices()
    controller(indices).observe(None)
    off = controller(indices, catch_up_lag=0)
    off.observe(10**9)
    off.restore_after_crash()
    assert indices.puts == []


def test_a_failed_change_is_tried_again_at_the_next_observation() -> None:
    indices = RecordingIndices(fail_puts=1)
    catch_up = controller(indices)
    catch_up.observe(2000)
    assert not catch_up.catching_up
    catch_up.observe(2000)
    assert catch_up.catching_up and indices.puts == ["30s"]


def test_leaving_on_stop_restores_the_normal_interval() -> None:
    indices = RecordingIndices()
    catch_up = controller(indices)
    catch_up.leave()
    assert indices.puts == []
    catch_up.observe(5000)
    catch_up.leave()
    assert indices.current == "1s" and indices.refreshes == 1


def test_start_up_restores_only_a_leftover_catch_up_interval() -> None:
    leftover = RecordingIndices(current="30s")
    controller(leftover).restore_after_crash()
    assert leftover.current == "1s"
    chosen_by_an_operator = RecordingIndices(current="5s")
    controller(chosen_by_an_operator).restore_after_crash()
    assert chosen_by_an_operator.puts == []
