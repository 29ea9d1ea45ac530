"""Validation of the synthesizers' parameters (each failure a :class:`ParameterError`)."""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from ...errors import ParameterError


def check_id(name: str, value, maximum: int) -> None:
    """Refuse a speaker id that is not an integer in ``[1, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= maximum:
        raise ParameterError(f"{name} id must be an integer in [1, {maximum}], got {value!r}")


def check_int(name: str, value, minimum: int, maximum: int | None = None) -> None:
    """Refuse a value that is not an integer in ``[minimum, maximum]`` (no upper bound if None)."""
    bad = isinstance(value, bool) or not isinstance(value, (int, np.integer))
    if bad or value < minimum or (maximum is not None and value > maximum):
        bound = f"[{minimum}, {maximum}]" if maximum is not None else f">= {minimum}"
        raise ParameterError(f"{name} must be an integer {bound}, got {value!r}")


def check_seed(seed) -> None:
    """Refuse a seed that is not a non-negative integer."""
    check_int("seed", seed, 0)


def resolve_ids(name: str, count: int, ids: Sequence[int] | None, maximum: int) -> list[int]:
    """``1..count``, or the given subset of it (sorted, unique)."""
    check_int(f"{name}s", count, 1, maximum)
    if ids is None:
        return list(range(1, count + 1))
    if isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable):
        raise ParameterError(f"{name}_ids must be a sequence of integers, got {ids!r}")
    ids = list(ids)
    if not ids:
        raise ParameterError(f"{name}_ids must not be empty, got {ids!r}")
    for i in ids:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 1 <= i <= count:
            raise ParameterError(f"{name}_ids must lie in [1, {count}] ({name}s={count}), got {i!r}")
    if len(set(ids)) != len(ids):
        raise ParameterError(f"{name}_ids must be unique, got {ids!r}")
    return sorted(int(i) for i in ids)


def check_common(repetitions, sample_rate, seed, progress, force) -> None:
    """Check the parameters both synthesizers take."""
    check_int("repetitions", repetitions, 1, 99)
    check_int("sample_rate", sample_rate, 8000, 192000)
    check_seed(seed)
    for name, value in (("progress", progress), ("force", force)):
        if not isinstance(value, bool):
            raise ParameterError(f"{name} must be True or False, got {value!r}")


def check_number(name: str, value, minimum: float | None = None, maximum: float | None = None) -> float:
    """``value`` as a float; refuse one that is not a finite real number in ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not np.isfinite(value):
        raise ParameterError(f"{name} must be a finite number, got {value!r}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        low = "-inf" if minimum is None else f"{minimum:g}"
        high = "inf" if maximum is None else f"{maximum:g}"
        raise ParameterError(f"{name} must lie in [{low}, {high}], got {value!r}")
    return float(value)


def check_flag(name: str, value) -> None:
    """Refuse a value that is not True or False."""
    if not isinstance(value, bool):
        raise ParameterError(f"{name} must be True or False, got {value!r}")
