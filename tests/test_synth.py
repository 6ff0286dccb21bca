"""maskkit.study.synth: determinism, the meaning of the gap control, measured statistics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from maskkit import coco_to_semantic, count_objects, polygon_to_mask
from maskkit.errors import InvalidInputError, MaskkitTypeError
from maskkit.study.synth import SHAPES, _relation, footprint, make_scene

SMALL = {"height": 160, "radius": (4.0, 12.0)}


def _groups_per_class(scene):
    out: dict[int, set] = {}
    for c, g in zip(scene.classes.tolist(), scene.groups.tolist()):
        out.setdefault(c, set()).add(g)
    return {c: len(v) for c, v in sorted(out.items())}


def test_deterministic():
    a = make_scene(30, 3, gap=-3, height=256, seed=11)
    b = make_scene(30, 3, gap=-3, height=256, seed=11)
    assert a.polygons == b.polygons
    assert a.stats == b.stats
    assert make_scene(30, 3, gap=-3, height=256, seed=12).polygons != a.polygons


def test_same_seed_same_objects_at_every_gap():
    scenes = [make_scene(30, 4, gap=g, height=256, seed=5) for g in (6, 0, -6)]
    for s in scenes[1:]:
        assert s.classes.tolist() == scenes[0].classes.tolist()
        # the same outlines, moved: areas differ only by rasterisation
        assert np.allclose(s.areas, scenes[0].areas, rtol=0.1, atol=6)


def test_statistics_monotone_in_the_control():
    gaps = [8, 4, 2, 1, 0.5, 0, -2, -4, -8, -16]
    keys = ("touching_fraction", "overlapping_fraction", "mean_iou", "occluded_fraction")
    means = {k: [] for k in keys}
    for g in gaps:
        stats = [make_scene(24, 2, gap=g, height=256, radius=(5, 14), seed=s).stats
                 for s in range(4)]
        for k in keys:
            means[k].append(np.mean([getattr(x, k) for x in stats]))
    for k in keys:
        m = means[k]
        assert all(m[i] <= m[i + 1] + 1e-9 for i in range(len(m) - 1)), (k, m)
        assert m[0] == 0.0 and m[-1] > 0.0, (k, m)
    # the sweep covers separated, touching and heavy overlap
    assert means["touching_fraction"][gaps.index(0)] > 0.5
    assert means["overlapping_fraction"][gaps.index(0)] < 0.2
    assert means["mean_iou"][-1] > 0.2


@given(seed=st.integers(0, 10**6), gap=st.floats(1.0, 12.0), n=st.integers(1, 12),
       k=st.integers(1, 3), shape=st.sampled_from(SHAPES))
def test_apart_from_one_pixel_semantic_counts_are_exact(seed, gap, n, k, shape):
    s = make_scene(n, k, gap=gap, shape=shape, seed=seed, **SMALL)
    sem = s.semantic_map()
    assert count_objects(sem, connectivity=8) == s.true_counts()
    assert count_objects(sem, connectivity=4) == s.true_counts()
    assert s.stats.touching_fraction == 0.0


@given(seed=st.integers(0, 10**6), gap=st.sampled_from([0.0, -1.0, -4.0, -10.0]),
       n=st.integers(1, 12), k=st.integers(1, 3), shape=st.sampled_from(SHAPES))
def test_touching_is_real_groups_merge_under_8_connectivity(seed, gap, n, k, shape):
    s = make_scene(n, k, gap=gap, shape=shape, seed=seed, **SMALL)
    assert count_objects(s.semantic_map(), connectivity=8) == _groups_per_class(s)


@given(seed=st.integers(0, 10**6), gap=st.sampled_from([-2.0, -4.0, -8.0]),
       shape=st.sampled_from(["disk", "ellipse"]))
def test_negative_gap_bounds_every_pair_of_a_group(seed, gap, shape):
    """``gap < 0`` bounds the overlap of every two members of a group, not only of a
    member and the one it was placed beside (before, groups could pile up).  The shared
    pixels of two convex outlines are at most ``-gap`` thick (twice their inscribed
    radius), plus rasterisation."""
    from scipy.ndimage import distance_transform_edt

    s = make_scene(14, 1, gap=gap, shape=shape, seed=seed, **SMALL)
    masks = [polygon_to_mask(p, s.height, s.width).astype(bool) for p in s.polygons]
    for i in range(len(s)):
        for j in range(i):
            if s.groups[i] != s.groups[j]:
                continue
            both = masks[i] & masks[j]
            if both.any():
                thick = 2 * distance_transform_edt(np.pad(both, 1)).max()
                assert thick <= -gap + 2.0, (i, j, thick)


def test_touching_members_meet_in_pixels_without_crossing():
    s = make_scene(40, 2, gap=0, height=256, seed=4)
    assert s.stats.touching_fraction > 0.5
    assert s.stats.mean_iou < 0.05  # at most slivers where the outlines meet


def test_areas_footprints_and_export_agree():
    s = make_scene(25, 3, gap=-5, height=200, seed=9)
    for i in (0, 7, 24):
        full = polygon_to_mask(s.polygons[i], s.height, s.width)
        assert int(full.sum()) == s.areas[i]
        y0, x0, m = footprint(s.polygons[i], s.height, s.width)
        assert (full[y0:y0 + m.shape[0], x0:x0 + m.shape[1]] == m).all()
    ids = s.instance_map()
    assert s.stats.occluded_fraction == pytest.approx(1 - np.count_nonzero(ids) / s.areas.sum())
    assert (coco_to_semantic(s.to_coco(), 1) == s.semantic_map()).all()
    table = np.bincount(ids.ravel(), minlength=len(s) + 1)[1:]
    assert (table <= s.areas).all()


def test_relation_against_a_naive_reference():
    rng = np.random.default_rng(0)
    from scipy import ndimage

    for _ in range(200):
        a = rng.random((9, 9)) < 0.3
        b = rng.random((9, 9)) < 0.3
        a[:, 5:] = False
        b[:, :int(rng.integers(3, 8))] = False
        fa = (0, 0, a) if a.any() else (0, 0, np.zeros((0, 0), bool))
        fb = (0, 0, b) if b.any() else (0, 0, np.zeros((0, 0), bool))
        shared = int((a & b).sum())
        touch = bool((ndimage.binary_dilation(a, np.ones((3, 3))) & b).any())
        assert _relation(fa, fb) == (shared, touch)


def test_bad_arguments():
    with pytest.raises(InvalidInputError, match="shape must be one of"):
        make_scene(3, 1, shape="square")
    with pytest.raises(InvalidInputError, match="n_classes"):
        make_scene(3, 0)
    with pytest.raises(MaskkitTypeError, match="n_objects"):
        make_scene(2.5, 1)
    with pytest.raises(InvalidInputError, match="radius"):
        make_scene(3, 1, height=32, radius=(4, 40))
    with pytest.raises(InvalidInputError, match="could place only"):
        make_scene(400, 1, gap=5, height=64, radius=(6, 8))
