"""File names of per-class outputs, shared by ``predict``, ``average`` and ``refine``, and the
rule that resolves relative image paths in STAR files
(:func:`jimnet.io.star.resolve_image_locations`).

Class numbers are RELION's ``rlnClassNumber`` (1-based) in every name, table and figure.
"""

from __future__ import annotations

__all__ = ["IMAGE_PATH_RULE", "class_map_name", "fsc_csv_name"]

#: How relative ``rlnImageName`` paths are found (stated in ``jimnet --help`` and ``info``).
IMAGE_PATH_RULE = (
    "Relative rlnImageName paths are resolved against one base folder: the STAR file's folder; "
    "if the first relative image is not there, the nearest parent folder of it that holds it "
    "(RELION project layout), else the current directory. `jimnet info` shows the folder used.")


def class_map_name(number: int, half: int | None = None) -> str:
    """``class_NNN.mrc`` (the class average) or ``class_NNN_half{1,2}.mrc`` (half-set maps)."""
    if half not in (None, 1, 2):
        raise ValueError(f"half must be 1 or 2, got {half}")
    return f"class_{int(number):03d}" + ("" if half is None else f"_half{half}") + ".mrc"


def fsc_csv_name(number: int, against: str | None = None) -> str:
    """``fsc_NNN.csv`` (half-map FSC) or ``fsc_NNN_<against>.csv`` (e.g. ``reference``)."""
    return f"fsc_{int(number):03d}" + ("" if against is None else f"_{against}") + ".csv"
