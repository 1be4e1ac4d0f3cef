"""How fast the command line answers: the median of 5 cold runs (each a new process) per command, printed
beside the same-run cost of starting Python at all (`python -c pass`, the floor nothing can go below).

    .venv/bin/python benchmarks/cli.py [--runs 5] [--commands help|light|all] [--before GIT_REF]

`--before REF` also times the same commands from the source of REF (`git archive`, run with the same
interpreter and PYTHONPATH pointing at it), so a change's effect is measured in one run on one machine.

Goals: `vsx --help` and every `--help` under 1 s; the light commands (config, experiments,
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


def cold_runs(
    argv: list[str], env: dict[str, str], runs: int, *, must_pass: bool = True, cwd: Path | None = None
) -> list[float] | None:
    """Wall time of `runs` fresh processes; a failing command is an error (or None), not a fast number."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, timeout=120, cwd=cwd)
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            if not must_pass:
                return None  # e.g. an option the older source does not have
            raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode()[-400:]}")
    return times


def old_tree(ref: str, into: Path) -> Path:
    """The source of git ref `ref`, unpacked under `into`."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref], capture_output=True, check=True).stdout
    into.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--commands", choices=("help", "light", "all"), default="all")
    parser.add_argument("--before", metavar="GIT_REF", help="also time the commands of this commit's source")
    args = parser.parse_args()
    words = ([[*w, "--help"] for w in HELP] if args.commands != "light" else []) + (
        LIGHT if args.commands != "help" else []
    )
    with tempfile.TemporaryDirectory(prefix="vsx-bench-cli-") as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VSX_")}
        env.update(VSX_HOME=home, VSX_CONFIG_FILE=f"{home}/absent.toml", VSX_EXPERIMENTS_DIR=EXAMPLES)
        floor = statistics.median(cold_runs([sys.executable, "-c", "pass"], env, args.runs))
        before: dict[str, float] = {}
        if args.before:
            src = old_tree(args.before, Path(home) / "before")
            old = [sys.executable, "-c", "from vsx.cli import main; main()"]
            old_env = {**env, "PYTHONPATH": str(src)}
            for w in words:
                times = cold_runs([*old, *w], old_env, args.runs, must_pass=False, cwd=src)  # `-c` puts cwd first
                before[" ".join(w)] = statistics.median(times) if times else float("nan")
        rows = [(" ".join(w), cold_runs([VSX, *w], env, args.runs)) for w in words]
    print(f"median of {args.runs} cold runs per command; goal < {GOAL_S:.0f} s; python -c pass = {floor:.3f} s")
    print(f"{'vsx ...':64} {'median s':>9} {'min s':>7} {'max s':>7}  goal  " + (f"{args.before} s" if before else ""))
    for name, times in rows:
        median = statistics.median(times)
        was = f"{before[name]:9.3f}" if name in before else ""
        print(f"{name[:64]:64} {median:9.3f} {min(times):7.3f} {max(times):7.3f}  "
              f"{'met ' if median < GOAL_S else 'MISS'}  {was}")  # fmt: skip
    met = sum(statistics.median(t) < GOAL_S for _, t in rows)
    print(f"{met} of {len(rows)} under {GOAL_S:.0f} s")


if __name__ == "__main__":
    main()
