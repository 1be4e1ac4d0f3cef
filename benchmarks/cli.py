"""How fast the command line answers: the median of 5 cold runs (each a new process) per command, printed
beside the same-run cost of starting Python at all (`python -c pass`, the floor nothing can go below).

    .venv/bin/python benchmarks/cli.py [--runs 5] [--commands help|light|all]

Goals (issue #19): `vsx --help` and every `--help` under 1 s; the light commands (config, experiments,
artifacts, power, services status) under 1 s. State lives in a temporary VSX_HOME whose experiments are the
shipped examples, so the light commands read real files.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VSX = str(Path(sys.executable).parent / "vsx")
GOAL_S = 1.0

HELP = [
    [], ["analyze"], ["export-pairs"], ["artifacts"], ["catalog"], ["config"], ["demo"], ["eval"], ["eval-trec"],
    ["experiments"], ["history"], ["index"], ["ingest"], ["simulate"], ["retrain"], ["power"], ["serve"],
    ["services"], ["train"], ["experiments", "list"], ["artifacts", "list"], ["index", "build"],
]  # fmt: skip
EXAMPLES = str(REPO / "examples" / "experiments")
LIGHT = [
    ["--version"], ["config"], ["experiments", "list"], ["experiments", "show", "enc-v1"],
    ["experiments", "assign", "user-1"], ["experiments", "validate", "--skip-artifacts", EXAMPLES],
    ["artifacts", "list"], ["services", "status"], ["power", "--baseline-ctr", "0.08", "--mde", "0.03"],
]  # fmt: skip


def cold_runs(argv: list[str], env: dict[str, str], runs: int) -> list[float]:
    """Wall time of `runs` fresh processes; a failing command is an error, not a fast number."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, timeout=120)
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode()[-400:]}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--commands", choices=("help", "light", "all"), default="all")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vsx-bench-cli-") as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VSX_")}
        env.update(VSX_HOME=home, VSX_CONFIG_FILE=f"{home}/absent.toml",
                   VSX_EXPERIMENTS_DIR=EXAMPLES)  # fmt: skip
        rows = [("python -c pass", cold_runs([sys.executable, "-c", "pass"], env, args.runs))]
        if args.commands in ("help", "all"):
            rows += [(" ".join(["vsx", *words, "--help"]), cold_runs([VSX, *words, "--help"], env, args.runs))
                     for words in HELP]  # fmt: skip
        if args.commands in ("light", "all"):
            rows += [(" ".join(["vsx", *words])[:72], cold_runs([VSX, *words], env, args.runs)) for words in LIGHT]
    floor = statistics.median(rows[0][1])
    print(f"median of {args.runs} cold runs per command; goal < {GOAL_S:.0f} s; python -c pass = {floor:.3f} s")
    print(f"{'command':74} {'median s':>9} {'min s':>7} {'max s':>7} {'over python':>12}  goal")
    met = 0
    for name, times in rows:
        median = statistics.median(times)
        met += median < GOAL_S and name != rows[0][0]
        goal = "" if name == rows[0][0] else "met" if median < GOAL_S else "MISSED"
        print(f"{name:74} {median:9.3f} {min(times):7.3f} {max(times):7.3f} {median - floor:+12.3f}  {goal}")
    print(f"{met} of {len(rows) - 1} vsx commands under {GOAL_S:.0f} s")


if __name__ == "__main__":
    main()
