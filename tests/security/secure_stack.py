"""The secure stack of the security tests: ``services.stack`` in secure mode (``stack up --secure``)
on private ports and a private state dir, so that the shared plain stack on 9092/9200 is untouched.

Ports: Kafka 27092 (CLIENT, SASL_SSL), 27093 (CONTROLLER, mTLS), 27192 (BROKER, mTLS); ES 27200
HTTPS, 27300 transport (``NEWSWIRE_SECURE_PORT_BASE`` moves them all). They are below Linux's
ephemeral range (32768-60999): a port in it can be held by any outgoing connection, and 47200 was,
twice (``BindHttpException: Failed to bind to 127.0.0.1:47200 ... Address already in use``).
State dir: ``<repo>/.state/security`` (``NEWSWIRE_SECURE_STATE_DIR``): kept between runs, like the
other suites' (a second ``up`` reuses the artifacts, the CA, the credentials and the data).

By hand::

    python3 -m tests.security.secure_stack up      # prints where the credentials are
    python3 -m tests.security.secure_stack down
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from services.stack import StackSettings
from services.stack import down as stack_down
from services.stack import up as stack_up
from services.stack.paths import effective_state_dir
from services.stack.secure import credentials
from services.stack.secure_mode import ca_file, credentials_file, own_env

REPO = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
_BASE = int(os.environ.get("NEWSWIRE_SECURE_PORT_BASE", "27000"))
KAFKA_PORT, CONTROLLER_PORT, BROKER_PORT = _BASE + 92, _BASE + 93, _BASE + 192
ES_PORT, ES_TRANSPORT_PORT = _BASE + 200, _BASE + 300
BOOTSTRAP = f"{HOST}:{KAFKA_PORT}"
ES_URL = f"https://{HOST}:{ES_PORT}"
STATE_DIR = Path(os.environ.get("NEWSWIRE_SECURE_STATE_DIR", REPO / ".state" / "security"))


def settings(state_dir: Path = STATE_DIR) -> StackSettings:
    return StackSettings(
        secure=True,
        state_dir=state_dir,
        # where ES runs when its user cannot enter the repository (never the plain stack's fallback)
        fallback_state_dir=Path("/var/lib/newswire-security-tests"),
        kafka_port=KAFKA_PORT,
        kafka_controller_port=CONTROLLER_PORT,
        kafka_broker_port=BROKER_PORT,
        es_port=ES_PORT,
        es_transport_port=ES_TRANSPORT_PORT,
        kafka_heap="384m",
        es_heap="512m",
    )


@dataclass(frozen=True)
class SecureStack:
    settings: StackSettings

    @property
    def root(self) -> Path:
        return effective_state_dir(self.settings)

    @property
    def secrets(self) -> Path:
        return credentials_file(self.settings).parent

    @property
    def ca_file(self) -> str:
        return str(ca_file(self.settings))

    @property
    def kafka_log(self) -> Path:
        return self.root / "logs" / "kafka.log"

    @property
    def es_log(self) -> Path:
        return self.root / "elasticsearch" / "logs" / f"{self.settings.es_cluster_name}.log"

    def credentials(self) -> credentials.Credentials:
        return credentials.load_credentials(self.secrets)

    def env(self, process: str, base: dict[str, str] | None = None) -> dict[str, str]:
        """What ``process`` gets from the stack (``pipeline.start`` gives each service the same)."""
        return own_env(self.settings, process, base if base is not None else {})


def up(state_dir: Path = STATE_DIR) -> SecureStack:
    stack = SecureStack(settings(state_dir))
    status = stack_up(stack.settings)
    if not status.healthy:
        raise RuntimeError(f"the secure stack is not healthy: {status.model_dump_json()}")
    return stack


def down(state_dir: Path = STATE_DIR) -> None:
    stack_down(settings(state_dir))


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in ("up", "down"):
        print(__doc__, file=sys.stderr)
        return 2
    if argv[0] == "down":
        down()
        return 0
    stack = up()
    print(f"credentials: {stack.secrets / credentials.CREDENTIALS_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
