"""``jimnet benchmark``: the paper's tables S1–S10 from one command, with the paper's numbers.

Modules: :mod:`~jimnet.benchmark.paper` (tables S1–S10 transcribed as data),
:mod:`~jimnet.benchmark.scales` (size presets and their cost estimate),
:mod:`~jimnet.benchmark.protocols` (pair alignment and clustering protocols, metrics),
:mod:`~jimnet.benchmark.results` (result containers and table rows),
:mod:`~jimnet.benchmark.report` (markdown, CSV, PNG, JSON) and
:mod:`~jimnet.benchmark.runner` (datasets, training schedule, orchestration).
"""

from typing import TYPE_CHECKING

from jimnet._lazy import lazy_exports

if TYPE_CHECKING:
    from jimnet.benchmark.runner import run_benchmark
    from jimnet.benchmark.scales import METHODS, SCALES, Scale, get_scale

_EXPORTS = {
    "METHODS": "jimnet.benchmark.scales",
    "run_benchmark": "jimnet.benchmark.runner",
    "SCALES": "jimnet.benchmark.scales",
    "Scale": "jimnet.benchmark.scales",
    "get_scale": "jimnet.benchmark.scales",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = ["METHODS", "SCALES", "Scale", "get_scale", "run_benchmark"]
