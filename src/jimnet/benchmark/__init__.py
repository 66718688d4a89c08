"""``jimnet benchmark``: the paper's tables S1–S10 from one command, with the paper's numbers.

Modules: :mod:`~jimnet.benchmark.paper` (tables S1–S10 transcribed as data),
:mod:`~jimnet.benchmark.scales` (size presets and their cost estimate),
:mod:`~jimnet.benchmark.protocols` (pair alignment and clustering protocols, metrics),
:mod:`~jimnet.benchmark.results` (result containers and table rows),
:mod:`~jimnet.benchmark.report` (markdown, CSV, PNG, JSON) and
:mod:`~jimnet.benchmark.runner` (datasets, training schedule, orchestration).
"""

from jimnet._lazy import lazy_exports

# Defining module → exported names, imported on first use (fast CLI start-up).
_EXPORTS = {
    "jimnet.benchmark.runner": ("run_benchmark",),
    "jimnet.benchmark.scales": ("METHODS", "SCALES", "Scale", "get_scale"),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
