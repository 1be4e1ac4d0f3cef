"""What refusing hostile inputs saves: the refusal beside the work the input would have caused, in one run.

    .venv/bin/python -P benchmarks/hostile_inputs.py [--quick]

Three hostile inputs, each timed two ways:
- a progressive JPEG whose 31-byte scan repeats over a flat image: Pillow decoding it (what serving did) against
  `decode_image` refusing it (more than `MAX_JPEG_SCANS` scans);
- nested YAML aliases: PyYAML loading them and a walk over the expanded data (what validation did; six levels
  of nine, since the full nine levels of "billion laughs" do not finish) against `parse_yaml` refusing them;
- an experiment file at the size limit (256 KiB of variants): `load_files` validating it, once the quadratic
  duplicate-name check is gone, beside a plain PyYAML load of the same text.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml
from PIL import Image

from experiments.errors import ExperimentConfigError
from experiments.loader import load_files
from experiments.yaml_lines import MAX_FILE_BYTES, parse_yaml
from search_core.errors import InvalidImageError
from search_core.images import decode_image


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    with contextlib.suppress(InvalidImageError, ExperimentConfigError):  # the refusals being timed
        work()
    return time.perf_counter() - started


def many_scan_jpeg(scans: int, size: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), (120, 60, 200)).save(buffer, format="JPEG", progressive=True)
    base = buffer.getvalue()
    starts = [i for i in range(len(base) - 1) if base[i : i + 2] == b"\xff\xda"]
    bounds = list(zip(starts, [*starts[1:], len(base) - 2], strict=True))
    start, stop = min(bounds, key=lambda b: b[1] - b[0])
    return base[:-2] + base[start:stop] * scans + b"\xff\xd9"


def pillow_decode(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as img:
        img.load()


def laughs(levels: int) -> str:
    names = "abcdefghi"[: levels + 1]
    lines = [f"{names[0]}: &{names[0]} [{', '.join(['lol'] * 9)}]"]
    lines += [f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]" for a, b in zip(names, names[1:], strict=False)]
    return "\n".join(lines) + "\n"


def count_nodes(value: object) -> int:
    if isinstance(value, dict):
        return 1 + sum(count_nodes(v) for v in value.values())
    if isinstance(value, list):
        return 1 + sum(count_nodes(v) for v in value)
    return 1


def big_experiment(folder: Path) -> Path:
    head = ("name: big\nowner: o\nstatus: running\nlayer: l\nstart: 2026-01-01T00:00:00Z\ncontrol: v0\n"
            "primary_metric: ctr\nvariants:\n")  # fmt: skip
    rows, i = [], 0
    while len(head) + sum(map(len, rows)) < MAX_FILE_BYTES - 100:
        rows.append(f"  - {{name: v{i}, weight: 0.0001}}\n")
        i += 1
    path = folder / "big.yaml"
    path.write_text(head + "".join(rows))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Smaller JPEG (1000 px) and five alias levels.")
    args = parser.parse_args()
    size, scans, levels = (1000, 2_000, 5) if args.quick else (4000, 2_000, 6)

    jpeg = many_scan_jpeg(scans, size)
    limits = {"max_bytes": 8 * 1024 * 1024, "max_pixels": 16_000_000}
    print(f"JPEG {size}x{size}, {scans + 10} scans, {len(jpeg):,} bytes")
    print(f"  Pillow decodes it (before)    {timed(lambda: pillow_decode(jpeg)):9.3f} s")
    print(f"  decode_image refuses it       {timed(lambda: decode_image(jpeg, **limits)):9.3f} s")

    text = laughs(levels)
    nodes: list[int] = []
    print(f"YAML aliases, {levels} levels of 9 ({len(text)} bytes)")
    load_time = timed(lambda: nodes.append(count_nodes(yaml.safe_load(text))))
    print(f"  safe_load + walk (before)     {load_time:9.3f} s  ({nodes[0]:,} nodes expanded)")
    print(f"  parse_yaml refuses it         {timed(lambda: parse_yaml(text, 'laughs.yaml')):9.3f} s")

    with tempfile.TemporaryDirectory() as tmp:
        path = big_experiment(Path(tmp))
        raw = path.read_text()
        print(f"experiment file of {len(raw):,} bytes ({raw.count('- {name')} variants)")
        print(f"  yaml.safe_load (baseline)     {timed(lambda: yaml.safe_load(raw)):9.3f} s")
        print(f"  load_files validates it       {timed(lambda: load_files([path])):9.3f} s")


if __name__ == "__main__":
    main()
