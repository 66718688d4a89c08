import pytest
import torch

from jimnet.geometry import geodesic_angle_deg
from jimnet.losses import jimnet_3d_loss
from jimnet.models import AlignmentOutput, GumNet, GumNetConfig, JimNet3D, JimNet3DConfig
from jimnet.models import gumnet as gumnet_module
from jimnet.models import jimnet3d as jimnet3d_module
from jimnet.models._common import scaled

N = 32


def _pair(batch=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, N, N, N, generator=g), torch.randn(batch, N, N, N, generator=g)


def _record(store, key, use_input=False):
    def hook(module, inputs, output):
        store.setdefault(key, inputs[0] if use_input else output)
    return hook


def _n_params(model):
    return sum(p.numel() for p in model.parameters())


# ------------------------------------------------------------------------------------ Gum-Net

def _gumnet_expected_params():
    trunk = [32, 64, 128, 256, 512]
    total, c_in = 0, 1
    for c in trunk:
        total += 27 * c_in * c + c + 2 * c  # conv + BN affine
        c_in = c
    per_dir = (27 * 216 * 1024 + 1024 + 2 * 1024) + (27 * 1024 * 1024 + 1024 + 2 * 1024)
    dense = (16384 * 2000 + 2000) + (2000 * 2000 + 2000) + (2000 * 6 + 6)
    return total + 2 * per_dir + dense


def test_gumnet_full_width_parameter_count_matches_spec_table():
    model = GumNet(**gumnet_module.PAPER_FAITHFUL)
    assert _n_params(model) == _gumnet_expected_params()  # ≈ 110 M
    assert model.trunk.out_size == 6 and model.trunk.out_channels == 512
    bn = model.trunk.bns[0][0]
    assert bn.momentum == pytest.approx(0.01) and bn.eps == pytest.approx(1e-3)
    assert model.head.linear.weight.abs().max() == 0
    b = model.head.linear.bias
    assert (b >= -0.5).all() and (b < 0.5).all()


@pytest.mark.parametrize("width", [0.125, 0.25])
def test_gumnet_shapes(width):
    model = GumNet(width=width)
    shapes = {}
    model.trunk.register_forward_hook(_record(shapes, "trunk"))
    model.reg_ab.register_forward_hook(_record(shapes, "reg"))
    s, t = _pair()
    out = model(s, t, source_tilt=(-60.0, 60.0))
    assert isinstance(out, AlignmentOutput)
    assert shapes["trunk"].shape == (2, scaled(512, width), 6, 6, 6)
    assert shapes["reg"].shape == (2, scaled(1024, width), 2, 2, 2)
    assert out.output.shape == (2, N, N, N) and out.warped.shape == (2, N, N, N)
    assert out.rotation.shape == (2, 3, 3) and out.shift.shape == (2, 3)
    assert out.params.shape == (2, 6) and len(out.stages) == 1
    assert out.cluster_logits is None and out.coarse_output is None
    assert out.shift.abs().max() <= N / 2


def test_gumnet_relu_comes_before_batchnorm():
    model = GumNet(width=0.125).eval()
    with torch.no_grad():
        model.trunk.bns[0][0].bias.fill_(-5.0)
    seen = {}
    model.trunk.pools[0].register_forward_hook(_record(seen, "x", use_input=True))
    s, t = _pair(1)
    with torch.no_grad():
        model(s, t)
    # BN(ReLU(x)) with running stats (0, 1) and bias −5 is ≥ −5 and hits −5 where x ≤ 0.
    assert seen["x"].min() == pytest.approx(-5.0, abs=1e-2)


def test_gumnet_options_and_input_checks():
    model = GumNet(width=0.125, bn_per_branch=True, head_init="identity")
    assert len(model.trunk.bns) == 2
    s, t = _pair()
    out = model(s[:, None], t[:, None])
    torch.testing.assert_close(out.rotation, torch.eye(3).expand(2, 3, 3))
    torch.testing.assert_close(out.output, out.warped)  # no tilt given: plain warp
    with pytest.raises(ValueError, match="built for"):
        model(torch.zeros(1, 16, 16, 16), torch.zeros(1, 16, 16, 16))
    with pytest.raises(ValueError, match="too small"):
        GumNet(width=0.125, input_size=20)
    cfg = GumNetConfig(width=0.125)
    assert GumNet(cfg, dense_units=100).config.dense_units == 100


# ----------------------------------------------------------------------------------- Jim-Net

def test_jimnet_layer_plan_follows_spec():
    model = JimNet3D(width=0.125)
    assert model.fe1.pool_sizes == [(21, 18), (13, 11), (7, 6)]
    assert model.fe1.out_size == 7
    assert model.fe3.pool_sizes == [(27, 23), (23, 20), (20, 17)]
    assert model.fe3.out_size == 20
    assert model.fine.pool_size == (9, 8)
    assert [b.padding for b in model.fe1.blocks] == ["valid", "valid", "valid", "same"]
    assert all(b.padding == "same" for b in model.fe3.blocks)
    full = JimNet3DConfig()
    assert full.dilations == (1, 2) and full.fine_init == "identity"


@pytest.mark.parametrize("width", [0.125, 0.25])
def test_jimnet_shapes(width):
    model = JimNet3D(width=width, n_clusters=4)
    s, t = _pair()
    out = model(s, t, source_tilt=(-60.0, 60.0))
    assert out.output.shape == (2, N, N, N) and out.coarse_output.shape == (2, N, N, N)
    assert out.rotation.shape == (2, 3, 3) and out.shift.shape == (2, 3)
    assert len(out.stages) == 2
    assert out.coarse.params.shape == (2, 6) and out.fine.params.shape == (2, 6)
    assert out.cluster_logits.shape == (2, 4)
    assert out.features.shape == (2, scaled(128, width))
    rot, shift = out.pose_numpy()
    assert rot.shape == (2, 3, 3) and shift.dtype.name == "float64"


def test_default_heads_start_exactly_at_the_identity():
    for model in (JimNet3D(width=0.125), GumNet(width=0.125)):
        out = model(*_pair())
        torch.testing.assert_close(out.rotation, torch.eye(3).expand(2, 3, 3))
        torch.testing.assert_close(out.shift, torch.zeros(2, 3))
        for stage in out.stages:
            torch.testing.assert_close(stage.params, torch.zeros(2, 6))


def test_paper_faithful_configs_are_the_legacy_checkpoint_defaults():
    for module, config in ((jimnet3d_module, JimNet3DConfig), (gumnet_module, GumNetConfig)):
        legacy = {k: v for k, v in config(**module.PAPER_FAITHFUL).to_dict().items()
                  if k not in ("rotation_param", "max_shift", "fine_max_shift")}
        assert config.from_dict(legacy).rotation_param == "euler"


def test_fine_stage_identity_initialisation_returns_coarse_pose():
    model = JimNet3D(width=0.125, **jimnet3d_module.PAPER_FAITHFUL)
    s, t = _pair()
    out = model(s, t, source_tilt=(-60.0, 60.0))
    torch.testing.assert_close(out.fine.params, torch.full((2, 6), 0.5))
    torch.testing.assert_close(out.fine.rotation, torch.eye(3).expand(2, 3, 3))
    torch.testing.assert_close(out.fine.shift, torch.zeros(2, 3))
    torch.testing.assert_close(out.rotation, out.coarse.rotation)
    torch.testing.assert_close(out.shift, out.coarse.shift)
    torch.testing.assert_close(out.output, out.coarse_output)
    # The coarse stage starts near (not at) the identity: Gum-Net's random bias.
    angle = geodesic_angle_deg(torch.eye(3).numpy(), out.rotation[0].detach().numpy())
    assert 0 < angle < 90


def test_jimnet_classify_matches_forward_and_gradients_reach_all_parts():
    model = JimNet3D(width=0.125, n_clusters=3)
    s, t = _pair()
    model.eval()
    with torch.no_grad():
        ev = model(s, t)
        logits, feats = model.classify(s)
    torch.testing.assert_close(logits, ev.cluster_logits)
    torch.testing.assert_close(feats, ev.features)
    model.train()
    # The zero-initialised pose heads block gradients to their stage at the very first step,
    # so take one optimiser step first.
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    for _ in range(2):
        out = model(s, t, source_tilt=(-60.0, 60.0))
        total, _ = jimnet_3d_loss(out.output, t, coarse_output=out.coarse_output,
                                  fine_rotation=out.fine.rotation,
                                  fine_shift=out.fine.shift_normalised,
                                  cluster_logits=out.cluster_logits,
                                  cluster_labels=torch.tensor([0, 2]))
        opt.zero_grad()
        total.backward()
        opt.step()
    for part in (model.fe1, model.fe3, model.coarse, model.fine, model.cluster_head):
        grads = [p.grad for p in part.parameters() if p.grad is not None]
        assert grads and any(g.abs().sum() > 0 for g in grads), type(part).__name__


def test_jimnet_eval_mode_is_batch_independent():
    model = JimNet3D(width=0.125).eval()
    s, t = _pair(3)
    with torch.no_grad():
        both = model(s, t)
        one = model(s[1:2], t[1:2])
    torch.testing.assert_close(both.rotation[1:2], one.rotation, atol=1e-5, rtol=0)
    torch.testing.assert_close(both.features[1:2], one.features, atol=1e-5, rtol=1e-4)


def test_jimnet_width_scales_parameters():
    small = _n_params(JimNet3D(width=0.125))
    larger = _n_params(JimNet3D(width=0.25))
    assert small < larger
