"""Fleet inspection: `containers()`, `versions()` and `hosts()` cold and warm, by fleet size.

    python bench/inspection.py [--sandbox NAME] [--sizes 3,10] [--rounds N]

(Not `inspect.py`: run as a script, it would be found as the standard library's `inspect`
by every script in this directory.)

On the first 3, 10 (...) hosts of a running sandbox, the sample app's deploy.yml cut down
to one web role (whatever runs there is listed; `bench/floor.py` leaves a service behind).
Cold: a newly loaded app, so every host's SSH connection is opened for the table; warm:
the same app again, its connections kept. Rounds alternate between sizes and tables;
medians are printed. Targets for warm tables: 0.15 s at 10 hosts, 0.4 s at 30.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import floor
import yaml

import kamalnb
from kamalnb.sandbox import Sandbox

TABLES = ("containers", "versions", "hosts")
TARGETS = {10: 0.15, 30: 0.4}


def project(sandbox: Sandbox, root: Path, size: int, service: str) -> Path:
    data = yaml.safe_load((sandbox.app_dir / "config" / "deploy.yml").read_text())
    data["service"] = service
    data["servers"] = {"web": [host.address for host in sandbox.hosts[:size]]}
    data.pop("accessories", None)
    (root / "config").mkdir(parents=True)
    (root / "config" / "deploy.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    (root / ".kamal").mkdir()
    (root / ".kamal" / "secrets").write_text((sandbox.app_dir / ".kamal" / "secrets").read_text())
    return root


def main() -> None:
    parser = floor.sizes_parser(__doc__.splitlines()[0], "3,10", rounds=7)
    parser.add_argument("--service", default="bench", help="the service to list (bench, as bench/floor.py leaves)")
    args = parser.parse_args()
    sandbox, sizes = floor.sandbox_and_sizes(args)
    samples: dict[tuple[int, str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="kamalnb-inspect-") as scratch:
        paths = {size: project(sandbox, Path(scratch) / str(size), size, args.service) / "config" / "deploy.yml"
                 for size in sizes}
        warm = {size: kamalnb.load(paths[size], version="bench") for size in sizes}
        for app in warm.values():
            app.hosts()  # pandas, and the connections, before the first sample
        for _ in range(args.rounds):
            for size in sizes:
                for table in TABLES:
                    cold = kamalnb.load(paths[size], version="bench")
                    for kind, app in (("cold", cold), ("warm", warm[size])):
                        started = time.perf_counter()
                        frame = getattr(app, table)()
                        samples.setdefault((size, table, kind), []).append(time.perf_counter() - started)
                        if "error" in frame and frame["error"].notna().any():
                            raise SystemExit(f"{table} at {size} hosts: {frame['error'].dropna().tolist()}")
                    cold.close()
        for app in warm.values():
            app.close()
    print(f"median of {args.rounds} alternating rounds, sandbox {args.sandbox}, in process")
    print(f"{'hosts':>5}  {'table':<11}{'cold':>8}{'warm':>8}{'target':>8}{'ratio':>7}")
    for size in sizes:
        for table in TABLES:
            cold, warm_s = (statistics.median(samples[(size, table, kind)]) for kind in ("cold", "warm"))
            target = TARGETS.get(size)
            goal = f"{target:7.2f}s{warm_s / target:6.2f}x" if target else f"{'-':>8}{'-':>7}"
            print(f"{size:>5}  {table:<11}{cold:7.3f}s{warm_s:7.3f}s{goal}")


if __name__ == "__main__":
    main()
