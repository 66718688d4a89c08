"""Networks: layers, rigid STN + missing-wedge imputation, Gum-Net, Jim-Net 3D, the baselines'
3D CNN, checkpoints."""

from typing import TYPE_CHECKING

from jimnet._lazy import lazy_exports

if TYPE_CHECKING:
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

_EXPORTS = {
    "MODEL_REGISTRY": "jimnet.models.checkpoint",
    "load_checkpoint": "jimnet.models.checkpoint",
    "load_model": "jimnet.models.checkpoint",
    "model_from_checkpoint": "jimnet.models.checkpoint",
    "model_to_checkpoint": "jimnet.models.checkpoint",
    "register_model": "jimnet.models.checkpoint",
    "save_model": "jimnet.models.checkpoint",
    "CNN3D": "jimnet.models.cnn3d",
    "CNN3DConfig": "jimnet.models.cnn3d",
    "GumNet": "jimnet.models.gumnet",
    "GumNetConfig": "jimnet.models.gumnet",
    "RigidParamHead": "jimnet.models.heads",
    "normalised_to_voxel_shift": "jimnet.models.heads",
    "params_to_angles": "jimnet.models.heads",
    "params_to_normalised_shift": "jimnet.models.heads",
    "params_to_pose": "jimnet.models.heads",
    "pose_to_params": "jimnet.models.heads",
    "voxel_to_normalised_shift": "jimnet.models.heads",
    "impute_fourier": "jimnet.models.imputation",
    "rotated_wedge_masks": "jimnet.models.imputation",
    "wedge_imputation": "jimnet.models.imputation",
    "JimNet3D": "jimnet.models.jimnet3d",
    "JimNet3DConfig": "jimnet.models.jimnet3d",
    "AlignmentOutput": "jimnet.models.outputs",
    "StagePose": "jimnet.models.outputs",
    "RigidSTN3d": "jimnet.models.stn",
    "warp": "jimnet.models.stn",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

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
