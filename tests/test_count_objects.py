"""Tests of maskkit.count against a per-class scipy loop and np.unique."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from maskkit.core.count import ALL_INSTANCES, count_objects, count_table
from maskkit.errors import InvalidInputError, MaskkitTypeError
from tests.naive_label import naive_count_semantic


@st.composite
def masks(draw, max_side=40, values=(0, 1, 2, 3, 255), dtypes=(np.uint8, np.uint16, np.int32)):
    """Masks drawn from ``values`` by a seeded numpy generator, in blocks of 1-4 pixels."""
    shape = draw(st.tuples(st.integers(1, max_side), st.integers(1, max_side)))
    dtype = draw(st.sampled_from(dtypes))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    block = int(rng.integers(1, 5))
    coarse = rng.choice(np.asarray(values, dtype), (-(-shape[0] // block), -(-shape[1] // block)))
    return np.repeat(np.repeat(coarse, block, 0), block, 1)[: shape[0], : shape[1]]


@given(
    mask=masks(),
    connectivity=st.sampled_from([4, 8]),
    min_area=st.integers(0, 5),
    ignore=st.sampled_from([(255,), (), (2, 255)]),
)
def test_semantic_matches_per_class_scipy(mask, connectivity, min_area, ignore):
    table = count_table(mask, connectivity=connectivity, min_area=min_area, ignore=ignore)
    assert table == naive_count_semantic(mask, connectivity, min_area, ignore)
    assert list(table) == sorted(table)
    counts = count_objects(mask, connectivity=connectivity, min_area=min_area, ignore=ignore)
    assert counts == {c: n for c, (n, _) in table.items()}


@given(
    volume=st.tuples(*[st.integers(1, 8)] * 3, st.integers(0, 2**32 - 1)).map(
        lambda t: np.random.default_rng(t[3]).integers(0, 3, t[:3]).astype(np.uint8)
    ),
    connectivity=st.sampled_from([6, 18, 26]),
)
def test_semantic_3d(volume, connectivity):
    expected = naive_count_semantic(volume, connectivity, 0, ())
    assert count_table(volume, connectivity=connectivity, ignore=()) == expected


def naive_instances(ids, min_area, ignore):
    values, areas = np.unique(ids[(ids != 0) & ~np.isin(ids, ignore)], return_counts=True)
    if values.size == 0:
        return {}
    return {ALL_INSTANCES: (int((areas >= min_area).sum()), int(areas.sum()))}


@given(
    mask=masks(values=(0, 1, 7, 300, 255, 2**20, 2**40), dtypes=(np.int64, np.uint64)),
    min_area=st.integers(0, 4),
)
def test_instance_counts_distinct_ids(mask, min_area):
    ids = mask.astype(np.int64)
    assert count_table(ids, kind="instance", min_area=min_area) == naive_instances(
        ids, min_area, (255,)
    )


@given(mask=masks(values=(0, 1, 2, 5, 9)), classes=masks(values=(0, 1, 2, 255)))
def test_instance_with_class_map_array(mask, classes):
    classes = np.resize(classes, mask.shape)
    expected = {}
    for c in np.unique(classes):
        if c in (0, 255):
            continue
        ids, areas = np.unique(mask[(classes == c) & (mask != 0)], return_counts=True)
        if ids.size:
            expected[int(c)] = (int(ids.size), int(areas.sum()))
    assert count_table(mask, kind="instance", class_map=classes) == expected


def test_instance_with_class_map_dict():
    ids = np.array([[5, 5, 0, 7], [0, 9, 0, 7]], np.uint16)
    assert count_table(ids, kind="instance", class_map={5: 1, 7: 1, 9: 2}) == {
        1: (2, 4),
        2: (1, 1),
    }
    assert count_objects(ids, kind="instance", class_map={5: 1, 7: 255, 9: 2}) == {1: 1, 2: 1}
    with pytest.raises(InvalidInputError, match=r"no class for instance id\(s\) \[9\]"):
        count_objects(ids, kind="instance", class_map={5: 1, 7: 1})


def test_hand_made_semantic_mask():
    mask = np.array([[1, 1, 0, 2], [0, 0, 0, 2], [1, 0, 1, 255]], np.uint8)
    assert count_table(mask) == {1: (3, 4), 2: (1, 2)}
    assert count_table(mask, min_area=2) == {1: (1, 4), 2: (1, 2)}
    assert count_objects(mask, ignore=()) == {1: 3, 2: 1, 255: 1}
    diagonal = np.eye(3, dtype=np.uint8) * 3
    assert count_objects(diagonal) == {3: 1}
    assert count_objects(diagonal, connectivity=4) == {3: 3}
    assert count_objects(np.eye(3, dtype=bool)) == {1: 1}


def test_empty_and_background_only():
    assert count_objects(np.zeros((0, 5), np.uint8)) == {}
    assert count_objects(np.zeros((4, 5), np.uint8)) == {}
    assert count_objects(np.full((4, 5), 255, np.uint8)) == {}
    assert count_objects(np.zeros((4, 5), np.int32), kind="instance") == {}


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"kind": "panoptic"}, InvalidInputError, "kind must be one of"),
        ({"min_area": -1}, InvalidInputError, "min_area"),
        ({"min_area": 2.5}, MaskkitTypeError, "min_area"),
        ({"ignore": "255"}, MaskkitTypeError, "ignore"),
        ({"connectivity": 6}, InvalidInputError, "connectivity"),
        ({"class_map": {1: 1}}, InvalidInputError, "kind='instance'"),
        ({"kind": "instance", "class_map": np.zeros((2, 2), np.int32)}, InvalidInputError, "shape"),
    ],
)
def test_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        count_objects(np.ones((3, 3), np.uint8), **kwargs)


def test_negative_instance_ids_rejected():
    with pytest.raises(InvalidInputError, match="ids >= 0"):
        count_objects(np.array([[-1, 2]]), kind="instance")
