"""Lazy package exports (PEP 562), so that ``jimnet --help`` starts without torch or scikit-learn.

A package ``__init__`` lists what it exports and from where; the defining module is imported on
the first access of one of its names. Static tools see the same names via ``TYPE_CHECKING``
imports.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable


def lazy_exports(package: str, exports: dict[str, str]
                 ) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``, importing ``exports[name]`` on first use.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    exports : dict
        Exported name → absolute name of the module that defines it.
    """

    def __getattr__(name: str) -> object:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # later look-ups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(set(exports) | set(vars(sys.modules[package])))

    return __getattr__, __dir__
