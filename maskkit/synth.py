"""``maskkit.synth``, the public name issue 5 gave the scene generator: an alias of
:mod:`maskkit.study.synth`, where the overlap study keeps it (see ARCHITECTURE.md)."""

from maskkit.study.synth import SHAPES, Scene, SceneStats, make_scene

__all__ = ["SHAPES", "Scene", "SceneStats", "make_scene"]
