"""Cluster, align and average a particle set with a trained Jim-Net, and write the results."""

from jimnet.predict.output import write_prediction
from jimnet.predict.pipeline import (
    CLUSTER_METHODS,
    ClassResult,
    Prediction,
    assign_clusters,
    model_normalisation,
    predict,
)

__all__ = ["CLUSTER_METHODS", "ClassResult", "Prediction", "assign_clusters",
           "model_normalisation", "predict", "write_prediction"]
