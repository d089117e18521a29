"""The server facts host facts need, as a platform value (keeps platform free of probe)."""

from __future__ import annotations

from vecpatch.platform.host import RunningServer
from vecpatch.probe.facts import ServerFacts


def running(server: ServerFacts) -> RunningServer:
    return RunningServer(server.version, server.major, server.started_at, server.platform)
