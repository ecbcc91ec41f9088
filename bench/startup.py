"""Start-up cost: `import kamalnb` and `kamalnb --help`, this tree against an earlier revision.

    python bench/startup.py [--baseline REV] [--rounds N]

The baseline is checked out into a temporary git worktree and run with this interpreter, so
both sides use the same installed dependencies. Rounds alternate between the two sides (the
machine is noisy) and the medians are compared; `python -c pass` is the floor.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The last revision whose `import kamalnb` loaded pandas (the API lived inside the steps).
DEFAULT_BASELINE = "d64ad3f"

CASES = {
    "python -c pass": "pass",
    "import kamalnb": "import kamalnb",
    "kamalnb --help": ("import sys; sys.argv = ['kamalnb', '--help']\n"
                       "from kamalnb.cli.main import main\n"
                       "try:\n    main()\nexcept SystemExit:\n    pass"),
}


def timed(code: str, tree: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(tree)!r})\n{code}"],
                   cwd=tree, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help=f"revision to compare with ({DEFAULT_BASELINE})")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kamalnb-baseline-") as scratch:
        baseline = Path(scratch) / "tree"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "--quiet", str(baseline), args.baseline],
                       check=True)
        try:
            samples: dict[tuple[str, str], list[float]] = {}
            for _ in range(args.rounds):
                for name, code in CASES.items():
                    for side, tree in (("baseline", baseline), ("this tree", REPO)):
                        samples.setdefault((name, side), []).append(timed(code, tree))
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(baseline)], check=False)
    median = {key: statistics.median(values) for key, values in samples.items()}
    print(f"median of {args.rounds} alternating rounds; baseline {args.baseline}")
    print(f"{'':18}{'baseline':>10}{'this tree':>11}{'ratio':>8}")
    for name in CASES:
        before, after = median[(name, "baseline")], median[(name, "this tree")]
        print(f"{name:18}{before:9.3f}s{after:10.3f}s{after / before:7.2f}x")


if __name__ == "__main__":
    main()
