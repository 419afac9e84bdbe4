"""What the OpenMetadata publisher remembers between runs, in one JSON file (atomic writes).

- ``server``: the URL it published to; another server starts from nothing.
- ``plan_digest`` / ``done`` / ``complete``: the requests of the current plan already answered, so a
  re-run after a failure sends only the rest (a new plan starts over: every request is a PUT
  create-or-update, so sending again changes nothing).
- ``ids``: OpenMetadata's ids of what was created (``"<type>:<fqn>"`` → id), for references.
- ``published``: the tables and topics of the last complete publish; those missing from the next
  catalog are soft-deleted.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from citydata.catalog.store import write_catalog
from citydata.errors import CityDataError

STATE_VERSION = 1


@dataclass
class PublishState:
    server: str = ""
    plan_digest: str = ""
    complete: bool = False
    done: list[str] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)
    published: dict[str, list[str]] = field(default_factory=dict)

    def start(self, server: str, digest: str) -> bool:
        """Begin a run; True when it resumes an unfinished run of the same plan on the same server."""
        if self.server == server and self.plan_digest == digest and not self.complete:
            return True
        if self.server != server:
            self.published, self.ids = {}, {}
        self.server, self.plan_digest, self.complete, self.done = server, digest, False, []
        return False

    def finish(self, published: dict[str, list[str]]) -> None:
        self.complete, self.published = True, published


def load_state(path: Path) -> PublishState:
    path = Path(path)
    if not path.exists():
        return PublishState()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CityDataError(f"publish state {path} is not valid JSON ({exc.msg}): delete it to publish everything again") from None
    if data.get("stateVersion") != STATE_VERSION:
        return PublishState()
    data.pop("stateVersion")
    return PublishState(**data)


def save_state(state: PublishState, path: Path) -> None:
    write_catalog({"stateVersion": STATE_VERSION, **asdict(state)}, path)
