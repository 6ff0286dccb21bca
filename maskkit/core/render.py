"""Colour previews of label maps, for checking conversions by eye.

One stable colour per class (semantic masks: the PASCAL VOC colour map, so previews match
``coco2sem --palette``) or per object (instance and panoptic "thing" ids: a fixed hash of
the id), a one-pixel outline around every object, an optional alpha blend over the photo,
and a legend with class names and counts. Pure NumPy plus Pillow for the legend text.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from maskkit.errors import InvalidInputError

__all__ = ["KINDS", "id_colours", "render"]

KINDS = ("semantic", "instance", "panoptic")
_BACKGROUND = np.array([28, 28, 32], dtype=np.uint8)
_OUTLINE = np.array([255, 255, 255], dtype=np.uint8)
_LEGEND_WIDTH = 230
_ROW = 16
_MAX_ROWS = 40


def id_colours(ids) -> np.ndarray:
    """A stable, well-spread RGB colour for each id: ``(n, 3)`` uint8.

    The same id always gets the same colour, whatever else is in the image (golden-ratio
    hues from a hash of the id).

    Examples
    --------
    >>> c = id_colours([1, 2, 1])
    >>> c[0].tolist() == c[2].tolist() == id_colours([1])[0].tolist() != c[1].tolist()
    True
    >>> id_colours([7]).dtype
    dtype('uint8')
    """
    ids = np.asarray(ids, dtype=np.uint64).reshape(-1)
    h = (ids * np.uint64(2654435761)) % np.uint64(2**32)
    hue = (h.astype(np.float64) / 2**32 + ids.astype(np.float64) * 0.6180339887) % 1.0
    sat = 0.55 + 0.35 * ((h >> np.uint64(8)) % np.uint64(7)).astype(np.float64) / 6
    val = 0.75 + 0.25 * ((h >> np.uint64(16)) % np.uint64(5)).astype(np.float64) / 4
    return _hsv_to_rgb(hue, sat, val)


def _hsv_to_rgb(h, s, v) -> np.ndarray:
    i = np.floor(h * 6).astype(np.int64) % 6
    f = h * 6 - np.floor(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    r = np.choose(i, [v, q, p, p, t, v])
    g = np.choose(i, [t, v, v, q, p, p])
    b = np.choose(i, [p, p, t, v, v, q])
    return (np.stack([r, g, b], axis=-1) * 255 + 0.5).astype(np.uint8)


def _class_colours(classes, colours: Mapping | None = None) -> np.ndarray:
    from maskkit._palette import voc_palette

    pal = voc_palette()
    out = []
    for c in classes:
        c = int(c)
        if colours and c in colours:
            out.append(np.asarray(colours[c], dtype=np.uint8)[:3])
        elif 0 < c < 256:
            out.append(pal[c])
        else:
            out.append(id_colours([c])[0])
    return np.asarray(out, dtype=np.uint8).reshape(-1, 3)


def _boundaries(ids: np.ndarray) -> np.ndarray:
    """Pixels of a non-zero id with a 4-neighbour of another id (inner outlines)."""
    edge = np.zeros(ids.shape, dtype=bool)
    dv = ids[1:] != ids[:-1]
    dh = ids[:, 1:] != ids[:, :-1]
    edge[1:] |= dv
    edge[:-1] |= dv
    edge[:, 1:] |= dh
    edge[:, :-1] |= dh
    return edge & (ids != 0)


def render(mask, *, kind: str = "semantic", image=None, alpha: float = 0.55,
           classes=None, names: Mapping | None = None, colours: Mapping | None = None,
           outline: bool = True, legend: bool = True, title: str | None = None) -> np.ndarray:
    """Colour preview of a label map: an ``(H, W [+ legend], 3)`` uint8 RGB array.

    Parameters
    ----------
    mask : array_like of int, shape (H, W)
        Class per pixel (``kind="semantic"``; 0 background, 255 drawn as "ignore"), or object
        id per pixel (``"instance"``, ``"panoptic"``; 0 none).
    kind : {"semantic", "instance", "panoptic"}
    image : array_like, shape (H, W) or (H, W, 3), optional
        Photo to blend the colours over (``alpha``); background pixels show the photo.
    alpha : float
        Opacity of the colours over the photo, 0..1.
    classes : mapping, optional
        Instance/panoptic: ``{id: class}``, for the legend. An id whose class is in
        ``colours`` takes that colour (panoptic "stuff"); other ids get their own.
    names : mapping, optional
        ``{class: name}`` for the legend.
    colours : mapping, optional
        ``{class: (r, g, b)}``: semantic colours overriding the VOC map; instance/panoptic:
        classes drawn in one colour (stuff).
    outline : bool
        Outline every object (semantic: every connected region) in white.
    legend : bool
        Append a legend panel: per class, its colour, name and count (semantic: connected
        regions, 8-connectivity; otherwise objects).
    title : str, optional
        First legend line.

    Returns
    -------
    ndarray of uint8, shape (H, W + legend width, 3)

    Examples
    --------
    >>> import numpy as np
    >>> m = np.zeros((4, 6), np.uint8); m[1:3, 1:3] = 1; m[1:3, 4:] = 2
    >>> rgb = render(m, legend=False, outline=False)
    >>> rgb.shape, rgb[1, 1].tolist(), rgb[1, 4].tolist()
    ((4, 6, 3), [128, 0, 0], [0, 128, 0])
    >>> render(m).shape[1] > 6
    True
    """
    from maskkit.core.checks import as_array

    if kind not in KINDS:
        raise InvalidInputError(f"kind must be one of {KINDS}; got {kind!r}")
    mask = as_array(mask, "mask")
    if mask.ndim != 2:
        raise InvalidInputError(f"mask must be 2-D (H, W); got shape {mask.shape}")
    if not 0.0 <= float(alpha) <= 1.0:
        raise InvalidInputError(f"alpha must be in 0..1; got {alpha!r}")
    h, w = mask.shape
    values, inverse = np.unique(mask, return_inverse=True)
    inverse = inverse.reshape(h, w)
    if kind == "semantic":
        table = _class_colours(values, colours)
        table[values == 255] = (96, 96, 96)
    else:
        table = id_colours(values)
        if classes is not None and colours:
            for i, v in enumerate(values.tolist()):
                c = classes.get(v)
                if c in colours:
                    table[i] = colours[c]
    table[values == 0] = _BACKGROUND
    rgb = table[inverse]
    fg = mask != 0
    if image is not None:
        photo = np.asarray(image)
        if photo.ndim == 2:
            photo = np.repeat(photo[..., None], 3, axis=2)
        photo = photo[..., :3]
        if photo.shape[:2] != (h, w):
            raise InvalidInputError(
                f"image must have the mask's size {h}x{w}; got {photo.shape[0]}x{photo.shape[1]}"
            )
        photo = photo.astype(np.float32)
        blend = photo.copy()
        blend[fg] = (1 - alpha) * photo[fg] + alpha * rgb[fg].astype(np.float32)
        rgb = (blend + 0.5).clip(0, 255).astype(np.uint8)
    if outline:
        if kind == "semantic":
            from maskkit.core.label import label

            edges = _boundaries(label(mask, 8))
        else:
            edges = _boundaries(mask)
        rgb[edges] = _OUTLINE
    if legend:
        rgb = _with_legend(rgb, _legend_rows(mask, kind, values, table, classes, names, colours),
                           title)
    return rgb


def _legend_rows(mask, kind, values, table, classes, names, colours):
    names = names or {}
    rows = []
    if kind == "semantic":
        from maskkit.core.count import count_table

        counts = count_table(mask, connectivity=8, ignore=())
        for c, (n, area) in counts.items():
            colour = table[np.searchsorted(values, c)]
            label = names.get(c, f"class {c}") if c != 255 else "ignore (255)"
            rows.append((colour, f"{label}: {n} region{'s' * (n != 1)}", area))
    elif classes is None:
        n = int((values != 0).sum())
        rows.append((_OUTLINE, f"{n} object{'s' * (n != 1)}", n))
    else:
        per: dict = {}
        for v in values.tolist():
            if v == 0:
                continue
            c = classes.get(v)
            per.setdefault(c, []).append(v)
        for c, ids in per.items():
            colour = (_class_colours([c], colours)[0] if c is not None
                      else np.array([160, 160, 160], np.uint8))
            label = names.get(c, f"class {c}") if c is not None else "no class"
            rows.append((colour, f"{label}: {len(ids)} object{'s' * (len(ids) != 1)}",
                         len(ids)))
    rows.sort(key=lambda r: -r[2])
    return rows


def _with_legend(rgb: np.ndarray, rows, title) -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFont

    h, w = rgb.shape[:2]
    shown = rows[:_MAX_ROWS]
    need = (len(shown) + (1 if title else 0) + (1 if len(rows) > _MAX_ROWS else 0)) * _ROW + 12
    panel = Image.new("RGB", (_LEGEND_WIDTH, max(h, need)), (245, 245, 245))
    draw = ImageDraw.Draw(panel)
    try:
        font = ImageFont.load_default(size=12)
    except TypeError:  # Pillow < 10.1
        font = ImageFont.load_default()
    y = 6
    if title:
        draw.text((8, y), title, fill=(0, 0, 0), font=font)
        y += _ROW
    for colour, text, _ in shown:
        draw.rectangle([8, y + 2, 20, y + 13], fill=tuple(int(v) for v in colour),
                       outline=(60, 60, 60))
        draw.text((26, y), text, fill=(20, 20, 20), font=font)
        y += _ROW
    if len(rows) > _MAX_ROWS:
        draw.text((8, y), f"... and {len(rows) - _MAX_ROWS} more", fill=(80, 80, 80), font=font)
    out = np.zeros((max(h, need), w + _LEGEND_WIDTH, 3), dtype=np.uint8)
    out[:h, :w] = rgb
    out[h:, :w] = 255
    out[:, w:] = np.asarray(panel)
    return out


