"""``vecpatch init ci``: CI workflows that scan on a schedule and update behind an approval.

The workflows are templates shipped as package data (``data/templates``) so they read
as the YAML a person would write; values are substituted into ``@@NAME@@`` markers
because GitHub's own ``${{ }}`` syntax collides with Python's template engines.
Every value is checked first: it lands in YAML and, for some, in a shell command line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path

from vecpatch.errors import UsageError

GITHUB_PATH = Path(".github/workflows/vecpatch.yml")
GITLAB_PATH = Path("vecpatch.gitlab-ci.yml")

_SAFE = re.compile(r"^[\w./@:+-]+$")
_CRON = re.compile(r"^[\d*/,-]+( [\d*/,A-Za-z-]+){4}$")
FAIL_ON = ("low", "medium", "high", "critical")


class Platform(StrEnum):
    GITHUB = "github"
    GITLAB = "gitlab"


@dataclass(frozen=True)
class CiOptions:
    environment: str = "production"
    targets: str = "vecpatch-targets.toml"
    fail_on: str = "high"
    cron: str = "17 5 * * *"
    action: str = "apply"

    def checked(self) -> CiOptions:
        """Refuse values that would break the YAML or the shell line they end up in."""
        for name in ("environment", "targets"):
            if not _SAFE.match(getattr(self, name)):
                raise UsageError(f"--{name.replace('_', '-')} has characters CI files cannot take")
        if self.fail_on not in FAIL_ON:
            raise UsageError(f"--fail-on must be one of {', '.join(FAIL_ON)}")
        if not _CRON.match(self.cron):
            raise UsageError("--cron needs five fields, e.g. '17 5 * * *'")
        if self.action not in ("apply", "rollout"):
            raise UsageError("--action must be apply or rollout")
        return self


def _template(name: str) -> str:
    return resources.files("vecpatch.data").joinpath("templates").joinpath(name).read_text("utf-8")


def render(platform: Platform, opts: CiOptions) -> str:
    """The workflow text for ``platform``."""
    opts = opts.checked()
    name = "github-workflow.yml" if platform is Platform.GITHUB else "gitlab-ci.yml"
    values = {
        "ENV": opts.environment,
        "TARGETS": opts.targets,
        "FAIL_ON": opts.fail_on,
        "CRON": opts.cron,
        "ACTION": opts.action,
        "UPDATE_ARGS": "--backup pg_dump --soak 2m",
    }
    text = _template(name)
    for key, value in values.items():
        text = text.replace(f"@@{key}@@", value)
    return text


def destination(platform: Platform, root: Path) -> Path:
    return root / (GITHUB_PATH if platform is Platform.GITHUB else GITLAB_PATH)


def write(platform: Platform, opts: CiOptions, root: Path, force: bool = False) -> Path:
    """Write the workflow into the repository at ``root``; never silently over another."""
    path = destination(platform, root)
    if path.exists() and not force:
        raise UsageError(f"{path} exists", hint="pass --force to replace it")
    text = render(platform, opts)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
