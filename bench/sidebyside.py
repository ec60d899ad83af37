"""Contenders timed side by side: each round runs every contender once, in turn, so machine noise
(this machine is shared) hits them alike; a contender's figure is its median over rounds.

A contender is a function that does its work and returns the seconds it took: measured here for
the graphs, reported by the worker for the sentence-transformers ONNX backend (bench/st_onnx.py),
which times itself in its own venv.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

Run = Callable[[], float]


def timed(work: Callable[[], Any]) -> Run:
    """``work`` as a contender: the seconds one call takes in this process."""

    def run() -> float:
        start = time.perf_counter()
        work()
        return time.perf_counter() - start

    return run


def alternate(contenders: dict[str, Run], rounds: int) -> dict[str, float]:
    """Median seconds per contender over ``rounds`` rounds (after one warm-up round); the first
    contender rotates with the round so no one always runs right after the same other."""
    names = list(contenders)
    for name in names:
        contenders[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for index in range(rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(contenders[name]())
    return {name: statistics.median(values) for name, values in times.items()}


def batches(texts: Sequence[str], size: int) -> list[np.ndarray]:
    return [np.array(texts[i : i + size], dtype=object) for i in range(0, len(texts), size)]


def min_cosine(vectors: np.ndarray, reference: np.ndarray) -> float:
    """The least cosine between matching rows (both normalized here, so any vectors compare)."""
    a = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    b = reference / np.linalg.norm(reference, axis=1, keepdims=True)
    return float((a * b).sum(axis=1).min())


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]
