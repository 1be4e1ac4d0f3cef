"""Encoder inference speed on CPU: a naive eager loop against `Encoder.embed`, same images, same run.

Naive = what a first draft does: one image at a time, autograd left on, default (NCHW) memory layout,
per-image PIL-free preprocessing. Batched = the same module under `torch.no_grad()` on batches, NCHW,
to separate batching from the rest. Optimised = `Encoder.embed` (inference_mode, channels-last,
vectorised resize, batches of 512). With `--compile`, also `torch.compile` of the module inside the
optimised path (compile time reported separately; the project uses it only if it pays).
Encoders: small_cnn (28 px grey, the cpu preset), resnet18 at native resolution (28 px, CIFAR stem),
and the raw-pixels baseline, all randomly initialised (speed does not depend on the weights).

Goal: optimised ≥ 2x naive images/s.

    .venv/bin/python benchmarks/embed.py            # 2,048 Fashion-MNIST query images per encoder
    .venv/bin/python benchmarks/embed.py --quick    # 256
"""

from __future__ import annotations

import argparse
import copy
import os
import time
from collections.abc import Callable
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F

from search_core.artifacts import Manifest
from search_core.catalog import load_catalog
from search_core.encoders import Encoder, EncoderSpec, resize_batch

SPECS = {
    "small_cnn": EncoderSpec("small_cnn", {"dim": 128, "input_size": 28, "width": 16, "pool": 7}),
    "resnet18": EncoderSpec("resnet18", {"dim": 128, "input_size": 28}),
    "pixels": EncoderSpec("pixels", {"input_size": 28}),
}


def naive(module: torch.nn.Module, images: np.ndarray, size: int, channels: int) -> np.ndarray:
    out = []
    for image in images:
        x = resize_batch(image[None], size, channels).float() / 255.0
        out.append(F.normalize(module(x), dim=1).detach().numpy())
    return np.concatenate(out)


def batched(module: torch.nn.Module, images: np.ndarray, size: int, channels: int) -> np.ndarray:
    out = []
    with torch.no_grad():
        for start in range(0, len(images), 512):
            x = resize_batch(images[start : start + 512], size, channels).float() / 255.0
            out.append(F.normalize(module(x), dim=1).numpy())
    return np.concatenate(out)


def rate(fn: Callable[[], np.ndarray], n: int, repeats: int) -> tuple[float, np.ndarray]:
    """Best-of-`repeats` images/s (the least disturbed run on a shared machine) and the output."""
    best, out = 0.0, np.empty(0)
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = max(best, n / (time.perf_counter() - start))
    return best, out


def bench(name: str, spec: EncoderSpec, images: np.ndarray, compile_too: bool) -> str:
    """One table row: images/s of the three paths (and the compiled one), outputs checked equal."""
    n = len(images)
    module = spec.build().eval()
    plain = copy.deepcopy(module)  # Encoder converts its module to channels-last in place; the baselines stay NCHW
    encoder = Encoder(module, Manifest(kind="encoder", name=name, version=1, catalog="fashion-mnist", dim=module.dim))
    shape = (encoder.input_size, encoder.channels)
    naive_rate, expected = rate(partial(naive, plain, images, *shape), n, 1 if name == "resnet18" else 2)
    batched_rate, _ = rate(partial(batched, plain, images, *shape), n, 3)
    embed_rate, got = rate(partial(encoder.embed, images), n, 3)
    np.testing.assert_allclose(got, expected, atol=1e-4)  # same numbers, only faster
    row = f"{name:<10} {naive_rate:>12.0f} {batched_rate:>14.0f} {embed_rate:>12.0f} {embed_rate / naive_rate:>11.1f}x"
    if compile_too:
        started = time.perf_counter()
        encoder.module = torch.compile(module)
        encoder.embed(images[:512])  # compiles
        compile_seconds = time.perf_counter() - started
        compiled_rate, _ = rate(partial(encoder.embed, images), n, 3)
        row += f" {compiled_rate:>15.0f} {compile_seconds:>10.1f}"
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="256 images instead of 2,048")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile in the optimised path")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads (default: all cores)")
    parser.add_argument("--encoders", nargs="+", choices=list(SPECS), default=list(SPECS), help="which encoders")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    n = 256 if args.quick else 2048
    catalog = load_catalog("fashion-mnist")
    images = catalog.images(catalog.query_ids[:n])
    print(f"{n} Fashion-MNIST images, {args.threads} torch thread(s), torch {torch.__version__}")
    header = f"{'encoder':<10} {'naive img/s':>12} {'batched img/s':>14} {'embed img/s':>12} {'embed/naive':>12}"
    print(header + (f" {'compiled img/s':>15} {'compile s':>10}" if args.compile else ""))
    for name in args.encoders:
        print(bench(name, SPECS[name], images, args.compile), flush=True)


if __name__ == "__main__":
    main()
