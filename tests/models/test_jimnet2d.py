"""JimNet2D: shapes, identity initialisation, checkpoint round trip."""

import pytest
import torch

from jimnet.models import load_model, save_model
from jimnet.models.jimnet2d import JimNet2D, JimNet2DConfig
from jimnet.transform.warp2d import identity_affine, identity_tps


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return JimNet2D(JimNet2DConfig(width=0.25, n_clusters=4, input_size=160)).eval()


def test_shapes_and_identity_start(model):
    x = torch.rand(2, 3, 160, 160)
    out = model(x, torch.rand(2, 3, 160, 160))
    assert out.correlation.shape == (2, 100, 10, 10)
    assert out.logits.shape == (2, 4) and out.features.shape == (2, 64)
    torch.testing.assert_close(out.theta_aff, identity_affine(2))
    torch.testing.assert_close(out.theta_tps, identity_tps(2))
    with pytest.raises(ValueError, match="built for 160"):
        model(torch.rand(1, 3, 120, 120), torch.rand(1, 3, 120, 120))


def test_checkpoint_round_trip(model, tmp_path):
    with torch.no_grad():
        model.affine.linear.weight.normal_()
    save_model(model, tmp_path / "m.pt")
    again = load_model(tmp_path / "m.pt").eval()
    assert isinstance(again, JimNet2D) and again.config == model.config
    x, y = torch.rand(1, 3, 160, 160), torch.rand(1, 3, 160, 160)
    torch.testing.assert_close(again(x, y).theta_aff, model(x, y).theta_aff)


def test_resnet_backbone_needs_torchvision_or_builds():
    try:
        import torchvision  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="torchvision"):
            JimNet2D(JimNet2DConfig(backbone="resnet101"))
    with pytest.raises(ValueError, match="backbone"):
        JimNet2D(JimNet2DConfig(backbone="vgg"))
