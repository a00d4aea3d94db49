"""The log-bucket sketch that rollups keep of raw values (pure arithmetic, no database)."""

import math
import random
import sys
from collections import Counter

import pytest

from apps.metrics.aggregation import (
    quantile_from_values,
    sketch_add,
    sketch_quantile,
    slot_upper_bound,
    value_slot,
)

GAMMA = 2 ** (1 / 8)


def test_slots_order_as_the_values_do():
    values = sorted([-1e300, -5.0, -1.0, -1e-300, 0.0, 1e-300, 0.25, 1.0, 7.5, 1e300])

    slots = [value_slot(value) for value in values]

    assert slots == sorted(slots)
    assert len(set(slots)) == len(values)


def test_a_bucket_is_one_eighth_of_a_power_of_two_wide():
    slot = value_slot(10.0)

    assert slot_upper_bound(slot) / slot_upper_bound(slot - 1) == pytest.approx(GAMMA)
    assert slot_upper_bound(slot - 1) < 10.0 <= slot_upper_bound(slot)


def test_the_extreme_floats_get_finite_bounds():
    bounds = [slot_upper_bound(value_slot(v)) for v in (sys.float_info.max, -sys.float_info.max)]

    assert all(math.isfinite(bound) for bound in bounds)
    assert math.isfinite(slot_upper_bound(value_slot(-sys.float_info.max) - 1))


@pytest.mark.parametrize("q", [0.01, 0.25, 0.5, 0.9, 0.99])
def test_a_sketch_quantile_is_within_one_bucket_of_the_exact_one(q):
    rng = random.Random(2)
    values = [rng.lognormvariate(0, 2.5) for _ in range(20_000)]
    sketch = dict(Counter(map(value_slot, values)))

    assert sketch_quantile(q, sketch) == pytest.approx(quantile_from_values(q, values), rel=0.09)


def test_sketches_add_up_whatever_the_key_type():
    total = sketch_add({5: 1}, {"5": 2, "-3": 4})

    assert total == {5: 3, -3: 4}


def test_an_empty_sketch_has_no_quantile():
    assert sketch_quantile(0.5, {}) is None
