"""What a deploy's fleet-wide waits cost: phases that wait for every host before the next.

    python bench/barriers.py [--sandbox NAME] [--sizes 3,10] [--rounds N]

Deploys a pushed version (the floor bench's project: one web role behind the proxy) and
times each host's top-level phases from the deploy's own events (preflight, pull, lock,
proxy, boot, tag, prune...). Where the next phase waits for every host, the fleet pays its
slowest host's time for each: `sum over phases of the slowest host`. Were there no wait at
all, it would pay `the slowest host's sum of phases`. Printed per size (medians of the
rounds): both, and their difference, what the waits that remain cost. Within `boot`, each
host already goes on alone: cleanup, stale containers, start, health, switch, drain, stop.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import kamalnb
from kamalnb.events import Event, Events, HostFinished, HostStarted

sys.path.insert(0, str(Path(__file__).parent))
import floor


class PhaseClock:
    """Each host's top-level phases, in order, with their durations."""

    def __init__(self) -> None:
        self.depth: dict[str, int] = defaultdict(int)
        self.opened: dict[str, float] = {}
        self.phases: dict[str, list[tuple[str, float]]] = defaultdict(list)

    def __call__(self, event: Event) -> None:
        if isinstance(event, HostStarted):
            if self.depth[event.host] == 0:
                self.opened[event.host] = time.perf_counter()
            self.depth[event.host] += 1
        elif isinstance(event, HostFinished):
            self.depth[event.host] -= 1
            if self.depth[event.host] == 0:
                self.phases[event.host].append((event.phase, time.perf_counter() - self.opened[event.host]))

    def estimates(self) -> tuple[float, float]:
        """(sum over phases of the slowest host, the slowest host's sum of phases); a phase
        is known by its name and how many times the host went through it before."""
        slowest: dict[tuple[str, int], float] = defaultdict(float)
        for phases in self.phases.values():
            seen: dict[str, int] = defaultdict(int)
            for name, seconds in phases:
                key = (name, seen[name])
                seen[name] += 1
                slowest[key] = max(slowest[key], seconds)
        sums = [sum(seconds for _, seconds in phases) for phases in self.phases.values()]
        return sum(slowest.values()), max(sums)


def main() -> None:
    args = floor.sizes_parser(__doc__.splitlines()[0], "3,10", rounds=3).parse_args()
    sandbox, sizes = floor.sandbox_and_sizes(args)
    floor.push_images(sandbox)
    rows = []
    with tempfile.TemporaryDirectory(prefix="kamalnb-barriers-") as scratch:
        for size in sizes:
            root = floor.project(sandbox, Path(scratch) / str(size), size)
            apps = {tag: kamalnb.load(root / "config" / "deploy.yml", root=root, version=tag) for tag in floor.TAGS}
            walls, phased, pipelined = [], [], []
            # The first deploy boots the proxy and warms the connections: not counted.
            for round_ in range(args.rounds + 1):
                clock = PhaseClock()
                started = time.perf_counter()
                apps[floor.TAGS[round_ % 2]].deploy(skip_push=True, ui="silent", events=Events(clock))
                if round_:
                    walls.append(time.perf_counter() - started)
                    barrier, pipeline = clock.estimates()
                    phased.append(barrier)
                    pipelined.append(pipeline)
            for app in apps.values():
                app.close()
            rows.append((size, *(statistics.median(values) for values in (walls, phased, pipelined))))
    print(f"deploy of a pushed version, medians of {args.rounds} rounds, sandbox {args.sandbox}")
    print(f"{'hosts':>5}  {'deploy':>7}  {'phases, slowest host each':>25}  {'slowest host, no wait':>21}  "
          f"{'the waits cost':>14}")
    for size, wall, barrier, pipeline in rows:
        print(f"{size:>5}  {wall:6.2f}s  {barrier:24.2f}s  {pipeline:20.2f}s  "
              f"{barrier - pipeline:5.2f}s ({(barrier - pipeline) / wall:4.0%})")


if __name__ == "__main__":
    main()
