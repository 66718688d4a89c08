"""Multi-reference refinement: gold-standard halves, resume, outputs, CLI."""

import json
import shutil

import numpy as np
import pytest
import typer
from scipy.spatial.transform import Rotation
from scipy.stats import zscore
from typer.testing import CliRunner

from jimnet.align import AlignParams
from jimnet.align.refine import (
    LOG,
    RefineConfig,
    RefineState,
    centred_scores,
    half_agreement,
    half_references,
    initial_state,
    multi_start,
    refine,
    refine_iteration,
    state_from,
    write_refinement,
)
from jimnet.cli.refine import refine_command
from jimnet.geometry import geodesic_angle_deg
from jimnet.io import ParticleSet, read_volume, write_particle_star, write_volume
from jimnet.simulate import SimulationConfig, load_structure, simulate_to_directory

PARAMS = AlignParams(angular_step=30.0, final_step=4.0, n_candidates=3, n_peaks=30, max_moves=1,
                     max_freq=0.45)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim") / "set"
    cfg = SimulationConfig(mode="fourier", snr=100.0, box=20, voxel_size=20.0, resolution=30.0,
                           max_shift=1.0, integer_shifts=False, seed=4, normalize="particle")
    simulate_to_directory(out, [load_structure("4v4r_30S"), load_structure("4cr2")], 4, cfg)
    ps = ParticleSet.from_star(out / "particles.star")
    star = ps.updated_star(out / "particles.star")
    star.particles["rlnRandomSubset"] = np.tile([1, 2], len(ps) // 2)
    star.particles["myNote"] = [f"n{i}" for i in range(len(ps))]
    write_particle_star(out / "particles.star", star, force=True)
    return out


def _config(**kw):
    return RefineConfig(n_classes=2, n_iterations=kw.pop("n_iterations", 1), params=PARAMS,
                        local_step=5.0, **kw)


def test_halves_never_mix(dataset, tmp_path):
    # Replacing every half-2 particle by noise must not change anything about half 1.
    ps = ParticleSet.from_star(dataset / "particles.star")
    a = refine(ps, _config(), tmp_path / "a")
    other = tmp_path / "other"
    shutil.copytree(dataset, other)
    rng = np.random.default_rng(0)
    half = ps.table["rlnRandomSubset"].to_numpy()
    for i, loc in enumerate(ps.image_locations):
        if half[i] == 2:
            name = other / "subtomograms" / loc.path.name
            write_volume(name, rng.normal(size=(20, 20, 20)).astype(np.float32), 20.0,
                         force=True)
    b = refine(ParticleSet.from_star(other / "particles.star"), _config(), tmp_path / "b")
    h1 = half == 1
    np.testing.assert_array_equal(a.state.classes[h1], b.state.classes[h1])
    np.testing.assert_allclose(a.state.rotations[h1], b.state.rotations[h1], atol=1e-6)
    np.testing.assert_allclose(a.state.scores[h1], b.state.scores[h1], atol=1e-6)
    assert not np.allclose(a.state.scores[~h1], b.state.scores[~h1])
    np.testing.assert_array_equal(a.state.halves, half)


def test_resume_gives_the_uninterrupted_result(dataset, tmp_path):
    ps = ParticleSet.from_star(dataset / "particles.star")
    full = refine(ps, _config(n_iterations=2), tmp_path / "full")
    refine(ps, _config(n_iterations=1), tmp_path / "cut")
    resumed = refine(ps, _config(n_iterations=2), tmp_path / "cut", resume=True)
    np.testing.assert_array_equal(full.state.classes, resumed.state.classes)
    np.testing.assert_allclose(full.state.rotations, resumed.state.rotations, atol=1e-6)
    lines = (tmp_path / "cut" / LOG).read_text().splitlines()
    assert len(lines) == 2 and '"iteration": 2' in lines[1]
    quiet = refine(ps, _config(n_iterations=2), tmp_path / "quiet", log_resolutions=False)
    np.testing.assert_array_equal(full.state.classes, quiet.state.classes)
    np.testing.assert_allclose(full.state.rotations, quiet.state.rotations, atol=1e-6)
    assert quiet.resolutions == full.resolutions  # the final maps are built either way
    assert all(json.loads(line)["resolution_angstrom"] is None
               for line in (tmp_path / "quiet" / LOG).read_text().splitlines())


def test_snr100_relative_poses_and_classes(dataset, tmp_path):
    ps = ParticleSet.from_star(dataset / "particles.star")
    res = refine(ps, _config(n_iterations=2, use_input_poses=False), tmp_path / "r")
    truth_rot, _ = ps.poses()
    true_cls = ps.class_numbers()
    np.testing.assert_array_equal(res.state.classes, true_cls)
    est = res.state.rotations
    for k in (1, 2):
        idx = np.nonzero(true_cls == k)[0]
        i0 = idx[0]
        for i in idx[1:]:
            err = geodesic_angle_deg(truth_rot[i] @ truth_rot[i0].T, est[i] @ est[i0].T)
            assert float(err) < 8.0


def test_outputs_keep_every_column(dataset, tmp_path):
    ps = ParticleSet.from_star(dataset / "particles.star")
    res = refine(ps, _config(), tmp_path / "o")
    write_refinement(res, ps, tmp_path / "o")
    out = ParticleSet.from_star(tmp_path / "o" / "particles.star")
    assert set(ps.table.columns) <= set(out.table.columns)
    assert list(out.table["myNote"]) == list(ps.table["myNote"])
    assert {"jimnetAlignScore", "rlnRandomSubset"} <= set(out.table.columns)
    for name in ("class_001.mrc", "class_002_half2.mrc", "fsc_001.csv", "fsc.png"):
        assert (tmp_path / "o" / name).exists(), name
    assert read_volume(tmp_path / "o" / "class_001.mrc")[0].shape == (20, 20, 20)


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("refine")(refine_command)
    app.command("other")(lambda: None)
    return app


def test_cli_refine_and_bad_input(dataset, tmp_path):
    out = tmp_path / "cli"
    args = ["refine", str(dataset / "particles.star"), "--classes", "2", "--out", str(out),
            "--iterations", "1", "--angular-step", "30", "--final-step", "3", "--quiet",
            "--device", "cpu"]
    res = CliRunner().invoke(_app(), args)
    assert res.exit_code == 0, res.output
    assert (out / "particles.star").exists() and (out / LOG).exists()
    assert "jimnet refine" in (out / "report.html").read_text()
    again = CliRunner().invoke(_app(), args)  # non-empty output, no --resume/--force
    assert again.exit_code == 2 and "error:" in again.output
    bad = CliRunner().invoke(_app(), [*args[:3], "1", *args[4:5], str(tmp_path / "bad"),
                                      *args[6:]])
    assert bad.exit_code == 2 and "rlnClassNumber" in bad.output
    assert not (tmp_path / "bad").exists()
    rule = CliRunner().invoke(_app(), [*args[:5], str(tmp_path / "rule"), *args[6:],
                                       "--score-rule", "median"])
    assert rule.exit_code == 2 and "score_rule" in rule.output
    assert not (tmp_path / "rule").exists()


def test_fixed_classes_are_kept(dataset, tmp_path):
    ps = ParticleSet.from_star(dataset / "particles.star")
    wrong = ps.class_numbers().copy()
    wrong[[0, 1]] = 3 - wrong[[0, 1]]
    init = state_from(wrong, *ps.poses(), ps.table["rlnRandomSubset"].to_numpy())
    kept = refine(ps, _config(reassign=False), tmp_path / "k", initial=init)
    np.testing.assert_array_equal(kept.state.classes, wrong)


def test_multi_start_keeps_the_halves_that_agree_best(dataset):
    ps = ParticleSet.from_star(dataset / "particles.star")
    config = _config(n_starts=3, start_rounds=1, reassign=False, use_input_poses=False)
    state0 = initial_state(ps, config)
    trials = [refine_iteration(ps, state0, config, start=s) for s in range(3)]
    best = multi_start(ps, state0, config)
    for k in (1, 2):
        chosen = np.unravel_index(np.argmax(half_agreement(ps, trials, k, config)), (3, 3))
        for h, s in zip((1, 2), chosen, strict=True):
            rows = (state0.halves == h) & (state0.classes == k)
            np.testing.assert_allclose(best.rotations[rows], trials[s].rotations[rows])
            np.testing.assert_allclose(best.scores[rows], trials[s].scores[rows])
    assert best.iteration == 1 and best.have_poses
    # the starts begin from different seeded members
    assert not np.allclose(trials[0].scores, trials[1].scores)


def test_half_agreement_prefers_the_true_poses(tiny_star):
    # Of three "starts", only the middle one has the true poses; its two half averages agree
    # with each other better than any pair involving random poses (asymmetric 4-blob classes).
    ps = ParticleSet.from_star(tiny_star)
    classes, halves = ps.class_numbers(), 1 + np.arange(len(ps)) % 2
    rot, shift = ps.poses()
    rng = np.random.default_rng(0)

    def trial(r):
        return RefineState(1, classes, halves, r, shift, np.zeros(len(ps)), True)

    random = [Rotation.random(len(ps), random_state=rng).as_matrix() for _ in range(2)]
    config = RefineConfig(n_classes=2, params=PARAMS, reassign=False)
    for k in (1, 2):
        agreement = half_agreement(ps, [trial(random[0]), trial(rot), trial(random[1])], k,
                                   config)
        assert np.unravel_index(np.argmax(agreement), agreement.shape) == (1, 1), agreement


def test_top_fraction_ignores_the_low_scorers(dataset, tmp_path):
    # A half-class reference built from the best-scoring half of its members must not change
    # when a low-scoring member's volume is replaced by noise.
    ps = ParticleSet.from_star(dataset / "particles.star")
    config = _config(top_fraction=0.5, global_rounds=2, use_input_poses=False)
    n = len(ps)
    scores = np.linspace(0.1, 0.9, n)
    state = RefineState(1, ps.class_numbers(), ps.table["rlnRandomSubset"].to_numpy(),
                        *ps.poses(), scores, True)
    refs = half_references(ps, state, config, 1)
    members = np.nonzero((state.halves == 1) & (state.classes == 1))[0]
    low = members[np.argmin(scores[members])]
    other = tmp_path / "other"
    shutil.copytree(dataset, other)
    rng = np.random.default_rng(1)
    write_volume(other / "subtomograms" / ps.image_locations[low].path.name,
                 rng.normal(size=(20, 20, 20)).astype(np.float32), 20.0, force=True)
    refs_noisy = half_references(ParticleSet.from_star(other / "particles.star"), state,
                                 config, 1)
    np.testing.assert_allclose(refs[1][0], refs_noisy[1][0], atol=1e-6)
    everyone = half_references(ParticleSet.from_star(other / "particles.star"), state,
                               _config(global_rounds=2), 1)
    assert not np.allclose(refs[1][0], everyone[1][0], atol=1e-6)


def test_class_radii_set_each_class_mask():
    config = _config(class_radii=(4.0, 7.5), reassign=False,
                     local_params=AlignParams(particle_radius=2.0))
    assert config.search_params(1).particle_radius == 4.0
    assert config.search_params(2, local=True).particle_radius == 7.5
    assert config.search_params(2, local=True).final_step == AlignParams().final_step
    assert _config().search_params(2) is PARAMS


@pytest.mark.parametrize("bad", [{"n_starts": 0}, {"start_rounds": 0}, {"top_fraction": 0.0},
                                 {"top_fraction": 1.5}, {"class_radii": (3.0,)},
                                 {"class_radii": (3.0, 0.0), "reassign": False},
                                 {"class_radii": (3.0, 5.0), "reassign": True},
                                 {"score_rule": "median"}])
def test_bad_start_settings(bad):
    with pytest.raises(ValueError):
        _config(**bad)


def test_centred_scores_subtract_each_half_and_class_mean():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(12, 3)) * [1.0, 5.0, 0.1] + [0.0, 3.0, -1.0]
    halves = np.repeat([1, 2], 6)
    scores[halves == 2, 2] = -np.inf  # class 3 has no reference in half 2
    centred = centred_scores(scores, halves)
    for h in (1, 2):
        rows = halves == h
        scored = np.isfinite(scores[rows]).all(0)
        block = scores[rows][:, scored]
        # zscore(x)·std(x) = x − mean(x): an independent route to the same numbers
        np.testing.assert_allclose(centred[rows][:, scored],
                                   zscore(block, axis=0) * block.std(0))
    assert np.isneginf(centred[halves == 2, 2]).all()


def test_centring_undoes_a_reference_that_scores_high_with_everyone():
    # class 2's reference correlates 0.5 higher with every particle (e.g. a larger particle):
    # raw scores pull everything into it, centred ones keep the true classes
    rng = np.random.default_rng(1)
    truth = np.repeat([0, 1], 20)
    scores = 0.05 * rng.normal(size=(40, 2)) + 0.2 * np.eye(2)[truth] + [0.0, 0.5]
    halves = np.tile([1, 2], 20)
    assert (scores.argmax(1) == 1).all()
    np.testing.assert_array_equal(centred_scores(scores, halves).argmax(1), truth)
