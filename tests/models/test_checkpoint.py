import pytest
import torch

from jimnet.models import (
    GumNet,
    JimNet3D,
    load_checkpoint,
    load_model,
    model_from_checkpoint,
    model_to_checkpoint,
    save_model,
)


def _same_outputs(a, b):
    a.eval()
    b.eval()
    s, t = torch.randn(2, 32, 32, 32), torch.randn(2, 32, 32, 32)
    with torch.no_grad():
        oa, ob = a(s, t, source_tilt=(-60.0, 60.0)), b(s, t, source_tilt=(-60.0, 60.0))
    torch.testing.assert_close(oa.rotation, ob.rotation)
    torch.testing.assert_close(oa.output, ob.output)
    return oa, ob


def test_jimnet_round_trip_rebuilds_from_file_alone(tmp_path):
    model = JimNet3D(width=0.0625, n_clusters=3, fine_channels=(8, 8, 8), imputation="none")
    with torch.no_grad():  # make BN buffers non-trivial
        model.fe1.blocks[0].bn.running_mean.fill_(0.3)
    path = save_model(model, tmp_path / "sub" / "model.pt", extra={"epoch": 7})
    loaded = load_model(path)
    assert isinstance(loaded, JimNet3D)
    assert loaded.config == model.config
    assert loaded.config.fine_channels == (8, 8, 8)
    oa, ob = _same_outputs(model, loaded)
    torch.testing.assert_close(oa.cluster_logits, ob.cluster_logits)
    assert load_checkpoint(path)["extra"] == {"epoch": 7}
    assert not (tmp_path / "sub" / "model.pt.tmp").exists()


def test_gumnet_round_trip_in_memory():
    model = GumNet(width=0.0625, bn_per_branch=True)
    ckpt = model_to_checkpoint(model)
    assert ckpt["model"] == "GumNet" and ckpt["config"]["width"] == 0.0625
    loaded = model_from_checkpoint(ckpt)
    assert loaded.config.pool_sizes == ((26, 22), (18, 15), (12, 10), (8, 7))
    _same_outputs(model, loaded)


def test_bad_checkpoints_are_rejected(tmp_path):
    ckpt = model_to_checkpoint(GumNet(width=0.0625))
    with pytest.raises(ValueError, match="not a jimnet"):
        model_from_checkpoint({**ckpt, "format": "other"})
    with pytest.raises(ValueError, match="unknown model"):
        model_from_checkpoint({**ckpt, "model": "Nope"})
    with pytest.raises(ValueError, match="unknown GumNetConfig keys"):
        model_from_checkpoint({**ckpt, "config": {**ckpt["config"], "bogus": 1}})
    with pytest.raises(ValueError, match="newer"):
        model_from_checkpoint({**ckpt, "format_version": 99})
    with pytest.raises(TypeError, match="registered"):
        model_to_checkpoint(torch.nn.Linear(2, 2))
