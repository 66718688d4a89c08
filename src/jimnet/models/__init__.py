"""Networks: layers, rigid STN + missing-wedge imputation, Gum-Net, Jim-Net 3D, the baselines'
3D CNN, checkpoints."""

from jimnet._lazy import lazy_exports

# Defining module → exported names, imported on first use (fast CLI start-up).
_EXPORTS = {
    "jimnet.models.checkpoint": (
        "MODEL_REGISTRY", "load_checkpoint", "load_model", "model_from_checkpoint",
        "model_to_checkpoint", "register_model", "save_model",
    ),
    "jimnet.models.cnn3d": ("CNN3D", "CNN3DConfig"),
    "jimnet.models.gumnet": ("GumNet", "GumNetConfig"),
    "jimnet.models.heads": (
        "RigidParamHead", "normalised_to_voxel_shift", "params_to_angles",
        "params_to_normalised_shift", "params_to_pose", "pose_to_params",
        "voxel_to_normalised_shift",
    ),
    "jimnet.models.imputation": ("impute_fourier", "rotated_wedge_masks", "wedge_imputation"),
    "jimnet.models.jimnet3d": ("JimNet3D", "JimNet3DConfig"),
    "jimnet.models.outputs": ("AlignmentOutput", "StagePose"),
    "jimnet.models.stn": ("RigidSTN3d", "warp"),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
