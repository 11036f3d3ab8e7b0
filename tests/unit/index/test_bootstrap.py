"""Waiting for Elasticsearch gives up with a clear error instead of hanging."""

from __future__ import annotations

import socket
import time

import pytest
from elasticsearch import Elasticsearch

from services.index.bootstrap import wait_for_elasticsearch
from services.runtime.settings import ElasticsearchSettings


def unused_local_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_unreachable_elasticsearch_times_out_with_the_url_in_the_error() -> None:
    url = f"http://127.0.0.1:{unused_local_port()}"
    settings = ElasticsearchSettings(url=url, startup_timeout_s=1.0, request_timeout_s=1.0)

    client = Elasticsearch(url, max_retries=0)

    started = time.monotonic()
    with pytest.raises(TimeoutError, match=f"{url} was not ready within 1s"):
        wait_for_elasticsearch(settings, client)

    assert time.monotonic() - started < 5
    client.close()
