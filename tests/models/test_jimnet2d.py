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


def test_resnet_trunk_is_cropped_after_layer3_and_loads_the_weights_file(tmp_path, monkeypatch):
    """torchvision is optional (not installed in CI): a stand-in module with ResNet's attribute
    names checks the cropping and the weights-file loading."""
    import sys
    import types

    from torch import nn

    class FakeResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 4, 3, stride=2, padding=1)
            self.bn1, self.relu = nn.BatchNorm2d(4), nn.ReLU()
            self.maxpool = nn.MaxPool2d(2)
            self.layer1 = nn.Conv2d(4, 4, 1)
            self.layer2 = nn.Conv2d(4, 8, 1, stride=2)
            self.layer3 = nn.Conv2d(8, 1024, 1, stride=2)
            self.layer4 = nn.Conv2d(1024, 2048, 1)  # must be cropped away

    fake = types.ModuleType("torchvision")
    fake.models = types.SimpleNamespace(resnet101=lambda weights=None: FakeResNet())
    monkeypatch.setitem(sys.modules, "torchvision", fake)
    weights = FakeResNet().state_dict()
    weights["layer3.bias"] = torch.full((1024,), 7.0)
    torch.save(weights, tmp_path / "r101.pth")
    net = JimNet2D(JimNet2DConfig(backbone="resnet101", input_size=160,
                                  backbone_weights=str(tmp_path / "r101.pth")))
    assert torch.equal(net.trunk[-1].bias, weights["layer3.bias"])
    assert not any(isinstance(m, nn.Conv2d) and m.out_channels == 2048 for m in net.modules())
    assert net.features(torch.rand(1, 3, 160, 160)).shape == (1, 1024, 10, 10)
    assert net.config.to_dict()["backbone_weights"] == ""
