"""Cluster, align and average a particle set with a trained Jim-Net, and write the results."""

from jimnet._lazy import lazy_exports

# Defining module → exported names, imported on first use (fast CLI start-up).
_EXPORTS = {
    "jimnet.predict.output": ("write_prediction",),
    "jimnet.predict.pipeline": (
        "CLUSTER_METHODS", "ClassResult", "Prediction", "assign_clusters", "model_normalisation",
        "predict",
    ),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
