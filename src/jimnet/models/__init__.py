"""Networks: layers, rigid STN + missing-wedge imputation, Gum-Net, Jim-Net 3D, the baselines'
3D CNN, checkpoints."""

from jimnet.models.checkpoint import (
    MODEL_REGISTRY,
    load_checkpoint,
    load_model,
    model_from_checkpoint,
    model_to_checkpoint,
    register_model,
    save_model,
)
from jimnet.models.cnn3d import CNN3D, CNN3DConfig
from jimnet.models.gumnet import GumNet, GumNetConfig
from jimnet.models.heads import (
    RigidParamHead,
    normalised_to_voxel_shift,
    params_to_angles,
    params_to_normalised_shift,
    params_to_pose,
    pose_to_params,
    voxel_to_normalised_shift,
)
from jimnet.models.imputation import (
    impute_fourier,
    rotated_wedge_masks,
    wedge_imputation,
)
from jimnet.models.jimnet3d import JimNet3D, JimNet3DConfig
from jimnet.models.outputs import AlignmentOutput, StagePose
from jimnet.models.stn import RigidSTN3d, warp

__all__ = [
    "CNN3D",
    "MODEL_REGISTRY",
    "AlignmentOutput",
    "CNN3DConfig",
    "GumNet",
    "GumNetConfig",
    "JimNet3D",
    "JimNet3DConfig",
    "RigidParamHead",
    "RigidSTN3d",
    "StagePose",
    "impute_fourier",
    "load_checkpoint",
    "load_model",
    "model_from_checkpoint",
    "model_to_checkpoint",
    "normalised_to_voxel_shift",
    "params_to_angles",
    "params_to_normalised_shift",
    "params_to_pose",
    "pose_to_params",
    "register_model",
    "rotated_wedge_masks",
    "save_model",
    "voxel_to_normalised_shift",
    "warp",
    "wedge_imputation",
]
