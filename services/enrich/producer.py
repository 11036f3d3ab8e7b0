"""faust's Kafka producer with idempotence on, as every producer of the pipeline writes.

faust 0.15.3 asks aiokafka for ``enable_idempotence`` only inside exactly-once transactions, and has
no setting for it otherwise. With ``acks=all`` alone a retried send after a lost acknowledgement (a
leader change, a broker restart) writes the record twice; with idempotence the broker drops the
retry (producer id + sequence numbers), so retries cannot duplicate or reorder a partition's
records. faust picks its transport from the broker URL's scheme: :data:`SCHEME` names
:class:`Transport`, aiokafka's with :class:`IdempotentProducer`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from faust.transport.drivers import TRANSPORTS
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import ProducerT

from services.runtime.settings import KafkaSettings

#: The broker URL scheme of :class:`Transport` (``newswire-kafka://host:port``).
SCHEME = "newswire-kafka"


class IdempotentProducer(faust_aiokafka.Producer):
    """aiokafka's producer as faust makes it, with ``acks=all`` and ``enable_idempotence``."""

    def _settings_extra(self) -> Mapping[str, Any]:
        # Both faust's own producer and its threaded one are built from these settings.
        return {**super()._settings_extra(), "acks": "all", "enable_idempotence": True}


class Transport(faust_aiokafka.Transport):
    Producer: ClassVar[type[ProducerT]] = IdempotentProducer


def broker_urls(kafka: KafkaSettings) -> list[str]:
    """faust's broker URLs for the shared Kafka settings, naming :class:`Transport`."""
    return [f"{SCHEME}://{server.strip()}" for server in kafka.bootstrap_servers.split(",")]


TRANSPORTS.aliases[SCHEME] = f"{__name__}:Transport"
