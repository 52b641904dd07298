"""Routing latency per query on CPU: p50/p95 over the dev set, after warm-up.

Builds the router from the demo catalog (no database), warms it up (model load, first calls),
then routes every dev query ``--rounds`` times, one at a time, as a request would. Usage::

    .venv/bin/python bench/router_latency.py [--path ../shared/routing/dev.jsonl] [--rounds 5]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_PATH = ROOT.parent / "shared" / "routing" / "dev.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--path", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    logging.getLogger("sentence_transformers").setLevel(logging.WARNING)  # no per-call progress bars

    from agents.catalog.demo import demo_profiles
    from agents.routing.evaluation import read_labelled
    from agents.routing.router import Router

    rows = read_labelled(args.path)
    queries = [query for query, _ in rows]

    started = time.perf_counter()
    from agents.knowledge.embeddings import warm_up

    warm_up()
    model_seconds = time.perf_counter() - started
    started = time.perf_counter()
    router = Router(demo_profiles())
    build_seconds = time.perf_counter() - started

    for query in (queries * (args.warmup // max(len(queries), 1) + 1))[: args.warmup]:
        router.route(query)

    timings = []
    correct = 0
    for _ in range(args.rounds):
        for query, agent in rows:
            began = time.perf_counter()
            decision = router.route(query)
            timings.append((time.perf_counter() - began) * 1000)
            correct += decision.agent == agent

    try:
        import torch

        threads = torch.get_num_threads()
    except ImportError:  # pragma: no cover
        threads = "?"
    print(
        f"queries: {len(queries)} x {args.rounds} rounds, cpu count {os.cpu_count()}, torch threads {threads}"
    )
    print(f"model load: {model_seconds:.2f} s, router build (embed + train): {build_seconds:.2f} s")
    print(f"accuracy: {correct / len(timings):.3f}")
    print(
        f"latency per query: p50 {np.percentile(timings, 50):.1f} ms, "
        f"p95 {np.percentile(timings, 95):.1f} ms, "
        f"mean {np.mean(timings):.1f} ms, max {np.max(timings):.1f} ms"
    )


if __name__ == "__main__":
    main()
