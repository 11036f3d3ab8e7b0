"""Results returned by up/down/status (no printing anywhere in the library)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, computed_field

Action = Literal["started", "already-running", "stopped", "not-running", "none"]


class ComponentStatus(BaseModel):
    name: Literal["kafka", "elasticsearch"]
    address: str
    #: something answers on the component's port
    running: bool = False
    #: the component answered a real client request (Kafka metadata / ES cluster health)
    healthy: bool = False
    #: a live process started by this manager (from its pidfile)
    managed: bool = False
    pid: int | None = None
    version: str | None = None
    log_path: Path | None = None
    #: what the last up/down call did for this component
    action: Action = "none"
    #: seconds spent in up() on this component (start + health wait); 0 when already running
    startup_seconds: float | None = None
    detail: str | None = None
    extra: dict[str, object] = Field(default_factory=dict)


class StackStatus(BaseModel):
    state_dir: Path
    kafka: ComponentStatus
    elasticsearch: ComponentStatus
    #: phase -> seconds (artifacts, unpack, plugin, kafka, elasticsearch, total) for up()
    timings: dict[str, float] = Field(default_factory=dict)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def healthy(self) -> bool:
        return self.kafka.healthy and self.elasticsearch.healthy

    @property
    def components(self) -> list[ComponentStatus]:
        return [self.kafka, self.elasticsearch]
