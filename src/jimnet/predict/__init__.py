"""Cluster, align and average a particle set with a trained Jim-Net, and write the results."""

from typing import TYPE_CHECKING

from jimnet._lazy import lazy_exports

if TYPE_CHECKING:
    from jimnet.predict.output import write_prediction
    from jimnet.predict.pipeline import (
        CLUSTER_METHODS,
        ClassResult,
        Prediction,
        assign_clusters,
        model_normalisation,
        predict,
    )

_EXPORTS = {
    "write_prediction": "jimnet.predict.output",
    "CLUSTER_METHODS": "jimnet.predict.pipeline",
    "ClassResult": "jimnet.predict.pipeline",
    "Prediction": "jimnet.predict.pipeline",
    "assign_clusters": "jimnet.predict.pipeline",
    "model_normalisation": "jimnet.predict.pipeline",
    "predict": "jimnet.predict.pipeline",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = ["CLUSTER_METHODS", "ClassResult", "Prediction", "assign_clusters",
           "model_normalisation", "predict", "write_prediction"]
