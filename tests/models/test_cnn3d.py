import pytest
import torch

from jimnet.models import CNN3D, CNN3DConfig, load_model, save_model


def test_shapes_width_and_size_independence():
    model = CNN3D(width=0.125, n_clusters=3).eval()
    assert model.feature_dim == round(256 * 0.125)
    x = torch.randn(2, 32, 32, 32)
    logits, feats = model.classify(x)
    assert logits.shape == (2, 3) and feats.shape == (2, model.feature_dim)
    torch.testing.assert_close(model(x[:, None]), logits)  # (B, 1, D, H, W) accepted too
    assert model(torch.randn(2, 20, 20, 20)).shape == (2, 3)  # global pooling: any box
    wide = CNN3D(width=0.25, n_clusters=3)
    n_small = sum(p.numel() for p in model.parameters())
    assert sum(p.numel() for p in wide.parameters()) > 3 * n_small


def test_features_are_global_average_pooled_relus():
    model = CNN3D(width=0.0625, n_clusters=2).eval()
    x = torch.randn(3, 16, 16, 16)
    with torch.no_grad():
        maps = model.blocks(x[:, None])
        torch.testing.assert_close(model.features(x), maps.mean(dim=(2, 3, 4)))
    assert bool((model.features(x) >= 0).all())
    assert maps.shape[-1] == 16 // 16  # strides (1, 2, 2, 2, 2)


def test_checkpoint_round_trip(tmp_path):
    model = CNN3D(CNN3DConfig(width=0.0625, n_clusters=4, input_size=24)).eval()
    path = save_model(model, tmp_path / "m.pt", extra={"epoch": 3})
    loaded = load_model(path).eval()
    assert isinstance(loaded, CNN3D) and loaded.config == model.config
    x = torch.randn(2, 24, 24, 24)
    torch.testing.assert_close(loaded(x), model(x))


def test_bad_configs_are_rejected():
    with pytest.raises(ValueError, match="equal length"):
        CNN3D(channels=(8, 16), strides=(1,))
    with pytest.raises(TypeError):
        CNN3D(CNN3DConfig(), width=2.0)
    with pytest.raises(ValueError, match="must be"):
        CNN3D(width=0.0625)(torch.randn(2, 3, 8, 8, 8))
