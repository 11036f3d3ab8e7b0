"""The one start-up path (``run_service``) and the settings base every service derives from."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from services.enrich.settings import Settings as EnrichSettings
from services.index.settings import Settings as IndexSettings
from services.ingest.settings import Settings as IngestSettings
from services.runtime.settings import ServiceSettings

REPO_ROOT = Path(__file__).resolve().parents[3]
SERVICES = {"ingest": IngestSettings, "enrich": EnrichSettings, "index": IndexSettings}


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_service_has_the_common_settings_under_its_own_prefix(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cls = SERVICES[service]
    assert issubclass(cls, ServiceSettings)
    assert cls().stall_timeout_s == 60
    prefix = f"NEWSWIRE_{service.upper()}_"
    monkeypatch.setenv(f"{prefix}STALL_TIMEOUT_S", "0")
    monkeypatch.setenv(f"{prefix}DLQ_PAYLOAD_MAX_BYTES", "99")
    monkeypatch.setenv(f"{prefix}LOG_JSON", "false")
    settings = cls()
    assert (settings.stall_timeout_s, settings.dlq_payload_max_bytes, settings.log_json) == (0, 99, False)


def test_each_service_keeps_its_own_metrics_port() -> None:
    ports = {name: cls.model_fields["metrics_port"].default for name, cls in SERVICES.items()}
    assert ports == {"ingest": 9101, "enrich": 9102, "index": 9103}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(service: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", f"services.{service}"],
        cwd=REPO_ROOT,
        env={
            **{name: value for name, value in os.environ.items() if not name.startswith("NEWSWIRE_")},
            "NEWSWIRE_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{closed_port()}",
            f"NEWSWIRE_{service.upper()}_METRICS_PORT": "0",
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.parametrize("service", ["ingest", "index"])
def test_a_broker_that_never_answers_ends_start_up_with_one_error_line_and_status_1(service: str) -> None:
    process = start(service, NEWSWIRE_KAFKA_STARTUP_TIMEOUT_S="1")
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 1, output
    assert '"msg": "startup failed"' in output and "did not answer within 1s" in output, output
    assert "Traceback" not in output, output


@pytest.mark.parametrize("service", ["ingest", "index"])
def test_a_stop_request_while_waiting_for_the_broker_exits_cleanly(service: str) -> None:
    process = start(service, NEWSWIRE_KAFKA_STARTUP_TIMEOUT_S="120")
    assert process.stdout is not None
    # The first line is logged once settings, logging and the stop handlers are in place.
    first_line = process.stdout.readline()
    assert '"msg": "starting"' in first_line, first_line
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, first_line + output
    assert "stopped before the worker started" in output


def test_a_bad_setting_is_named_and_ends_start_up() -> None:
    process = start("ingest", NEWSWIRE_INGEST_STALL_TIMEOUT_S="soon")
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 1
    assert "invalid setting NEWSWIRE_INGEST_STALL_TIMEOUT_S" in output, output
