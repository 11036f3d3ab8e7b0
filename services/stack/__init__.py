"""The native stack manager: Kafka (KRaft) and Elasticsearch as local processes, no Docker.

    from services.stack import up, down, status, StackSettings
    st = up()                      # idempotent; returns a StackStatus
    st.kafka.healthy, st.elasticsearch.pid, st.timings["total"]

Command line: ``python -m services.stack up|down|status [--json]``.
"""

from .manager import down, status, up
from .models import ComponentStatus, StackStatus
from .process import StackError
from .settings import StackSettings

__all__ = ["ComponentStatus", "StackError", "StackSettings", "StackStatus", "down", "status", "up"]
