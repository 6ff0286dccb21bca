"""Argument checks shared by the core: each public function validates at its edge with these,
so every module says the same thing, with the value received and the fix, about the same
mistake."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from maskkit.errors import InvalidInputError, MaskkitTypeError

#: The connectivities a labelling accepts, per number of dimensions.
CONNECTIVITIES = {2: (4, 8), 3: (6, 18, 26)}

__all__ = ["CONNECTIVITIES", "as_array", "background_value", "check_connectivity", "check_ignore",
           "check_min_area", "check_out", "check_value"]


def as_array(image, name: str, *, allow_bool: bool = True) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        try:
            image = np.asarray(image)
        except Exception as exc:  # ragged lists and the like
            raise MaskkitTypeError(
                f"{name} must be a 2-D or 3-D integer or bool array; got {type(image).__name__}"
                f" that numpy cannot convert ({exc})"
            ) from None
    kind = image.dtype.kind
    if not (kind in "iu" or (allow_bool and kind == "b")):
        allowed = "integer or bool" if allow_bool else "integer"
        raise MaskkitTypeError(
            f"{name} must have an {allowed} dtype; got {image.dtype}. Fix: convert it, e.g. "
            f"`{name}.astype(np.int32)` (round floats first if they hold labels)"
        )
    if image.ndim not in (2, 3):
        raise InvalidInputError(
            f"{name} must be 2-D (H, W) or 3-D (Z, Y, X); got shape {image.shape}. Fix: "
            f"squeeze channel axes or label each image of a batch separately"
        )
    return image


def check_connectivity(connectivity, ndim: int) -> int:
    allowed = CONNECTIVITIES[ndim]
    if isinstance(connectivity, (bool, np.bool_)) or connectivity not in allowed:
        raise InvalidInputError(
            f"connectivity must be one of {allowed} for a {ndim}-D image; got {connectivity!r}"
        )
    return int(connectivity)


def background_value(background, dtype: np.dtype):
    if isinstance(background, (bool, np.bool_)):
        background = int(background)
    if not isinstance(background, (int, np.integer)):
        raise MaskkitTypeError(
            f"background must be an integer; got {background!r} ({type(background).__name__})"
        )
    if dtype.kind == "b":
        lo, hi, kernel_dtype = 0, 1, np.dtype(np.uint8)
    else:
        info = np.iinfo(dtype)
        lo, hi, kernel_dtype = info.min, info.max, dtype.newbyteorder("=")
    if not lo <= background <= hi:
        raise InvalidInputError(
            f"background={background} cannot occur in a {dtype} image (values {lo}..{hi}). "
            f"Fix: pass a background value the image can hold"
        )
    return kernel_dtype.type(background)


def check_ignore(ignore) -> np.ndarray:
    if ignore is None:
        return np.zeros(0, np.int64)
    if isinstance(ignore, (int, np.integer)):
        ignore = (ignore,)
    if not isinstance(ignore, Iterable):
        raise MaskkitTypeError(f"ignore must be a sequence of integers; got {ignore!r}")
    values = list(ignore)
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        raise MaskkitTypeError(f"ignore must hold integers only; got {values!r}")
    return np.asarray(values, np.int64)


def check_min_area(min_area) -> int:
    if isinstance(min_area, (bool, np.bool_)) or not isinstance(min_area, (int, np.integer)):
        raise MaskkitTypeError(f"min_area must be an integer >= 0; got {min_area!r}")
    if min_area < 0:
        raise InvalidInputError(f"min_area must be >= 0; got {min_area}")
    return int(min_area)


def check_out(out):
    if not isinstance(out, np.ndarray):
        raise MaskkitTypeError(f"out must be a NumPy array; got {type(out).__name__}")
    if out.ndim != 2:
        raise InvalidInputError(f"out must be 2-D (H, W); got shape {out.shape}")
    if out.dtype.kind not in "biu":
        raise MaskkitTypeError(
            f"out must have an integer or bool dtype; got {out.dtype} "
            "(use e.g. np.zeros((h, w), np.uint16))"
        )
    if not out.flags.writeable:
        raise InvalidInputError("out is read-only")


def check_value(out, value):
    info = np.iinfo(out.dtype) if out.dtype.kind != "b" else None
    v = int(value)
    if v != value:
        raise InvalidInputError(f"label value {value!r} is not an integer")
    if info is not None and not info.min <= v <= info.max:
        raise InvalidInputError(
            f"label value {v} does not fit out's dtype {out.dtype} "
            f"({info.min}..{info.max}); use a wider dtype"
        )
    return out.dtype.type(v)
