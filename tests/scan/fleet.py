"""A small real fleet for the scan tests: sandboxes, roles, passwords and a targets file."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg.conninfo import conninfo_to_dict

from vecpatch.sandbox import Sandbox
from vecpatch.sandbox.server import free_port
from vecpatch.sandbox.testing import SandboxFactory

DSN_SENTINEL = "Dsn-S3ntinel-4a1f"
ENV_SENTINEL = "Env-S3ntinel-9c2e"
WRONG_SENTINEL = "Wrong-S3ntinel-77b0"


@dataclass(frozen=True)
class Fleet:
    """The sandboxes, and an environment holding every password the targets file references."""

    old: Sandbox  # PostgreSQL 16.2, pgvector 0.6.2; databases postgres, noext, locked
    behind: Sandbox  # 16.4 with catalog 0.7.4 and files upgraded to 0.8.5
    current: Sandbox  # 16.14 / 0.8.5; database vecschema has pgvector in schema "vec"
    replica: Sandbox  # streaming standby of ``current``
    closed_port: int
    env: dict[str, str]

    def tcp(self, sb: Sandbox, dbname: str = "postgres", user: str = "postgres") -> str:
        """A password-less URI (the password comes from the targets file)."""
        return f"postgresql://{user}@127.0.0.1:{sb.port}/{dbname}"

    def targets_toml(self) -> str:
        """Named targets covering every finding kind and failure reason."""
        rows = [
            ("old", self.tcp(self.old), "env:SBX_OLD_PW", '"all"'),
            ("behind", self.tcp(self.behind), "env:SBX_BEHIND_PW", None),
            ("current", self.tcp(self.current), "env:SBX_CURRENT_PW", '"all"'),
            ("replica", self.tcp(self.replica), "env:SBX_CURRENT_PW", None),
            ("wrong-password", self.tcp(self.old), "env:SBX_WRONG_PW", None),
            (
                "closed-port",
                f"postgresql://postgres@127.0.0.1:{self.closed_port}/postgres",
                "env:SBX_OLD_PW",
                None,
            ),
            ("no-privilege", self.tcp(self.old, "locked", "noperm"), "env:SBX_NOPERM_PW", None),
        ]
        parts = []
        for name, dsn, pw, dbs in rows:
            text = f'[[targets]]\nname = "{name}"\nenvironment = "test"\ndsn = "{dsn}"\n'
            text += f'password = "{pw}"\nconnect_timeout = 2\n'
            if dbs:
                text += f"databases = {dbs}\n"
            parts.append(text)
        return "\n".join(parts)


def _password(sb: Sandbox) -> str:
    return str(conninfo_to_dict(sb.dsn())["password"])


def build_fleet(factory: SandboxFactory) -> Fleet:
    old = factory.fresh("16.2", "0.6.2")
    old.run_sql("CREATE EXTENSION vector")
    old.run_sql("CREATE DATABASE noext")
    old.run_sql("CREATE DATABASE locked")
    old.run_sql("REVOKE CONNECT ON DATABASE locked FROM PUBLIC")
    old.run_sql(f"CREATE ROLE noperm LOGIN PASSWORD '{ENV_SENTINEL}'")
    old.run_sql(f"CREATE ROLE sentinel LOGIN PASSWORD '{DSN_SENTINEL}'")
    old.run_sql("CREATE TABLE items (id int PRIMARY KEY, embedding vector(3))")
    old.run_sql("CREATE INDEX ON items USING hnsw (embedding vector_l2_ops)")

    behind = factory.fresh("16.4", "0.7.4")
    behind.run_sql("CREATE EXTENSION vector")
    behind.install_extension("0.8.5")

    current = factory.fresh("16.14", "0.8.5")
    current.run_sql("CREATE EXTENSION vector")
    current.run_sql("CREATE DATABASE vecschema")
    current.run_sql("CREATE SCHEMA vec", dbname="vecschema")
    current.run_sql("CREATE EXTENSION vector SCHEMA vec", dbname="vecschema")
    current.run_sql(f"CREATE ROLE vecpatch LOGIN PASSWORD '{ENV_SENTINEL}'")
    replica = factory.replica(current)
    env = {
        "SBX_OLD_PW": _password(old),
        "SBX_BEHIND_PW": _password(behind),
        "SBX_CURRENT_PW": _password(current),
        "SBX_WRONG_PW": WRONG_SENTINEL,
        "SBX_NOPERM_PW": ENV_SENTINEL,
        "ORDERS_DB_PASSWORD": ENV_SENTINEL,
    }
    return Fleet(old, behind, current, replica, free_port(), env)
