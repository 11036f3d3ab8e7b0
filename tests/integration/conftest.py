"""Every integration test runs against the real broker and Elasticsearch of the session."""

import pytest


@pytest.fixture(autouse=True)
def _real_services(endpoints):  # type: ignore[no-untyped-def]
    return endpoints


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.integration)
