import json

import numpy as np
import pytest
import starfile
import torch
from typer.testing import CliRunner

from jimnet.cli.main import app
from jimnet.io import ParticleSet, read_volume
from jimnet.models import load_model
from jimnet.predict import predict, write_prediction
from jimnet.train.trainer import TrainConfig, Trainer


@pytest.fixture(scope="module")
def tiny_model(tiny_star, tmp_path_factory):
    cfg = TrainConfig(n_clusters=2, width=0.0625, batch_size=4, warmup_epochs=1,
                      use_tsne=False, epochs=1, seed=1)
    run = tmp_path_factory.mktemp("run")
    Trainer(ParticleSet.from_star(tiny_star), cfg, run).fit()
    return run / "model.pt"


def test_predict_cli_writes_star_maps_and_figures(tiny_star, tiny_model, tmp_path):
    out = tmp_path / "pred"
    args = ["predict", tiny_star, "--model", str(tiny_model), "--out", str(out), "--iterations",
            "1", "--no-tsne", "--quiet"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    table = starfile.read(out / "particles.star")["particles"]
    original = starfile.read(tiny_star)["particles"]
    assert set(original.columns) <= set(table.columns)  # every input column kept
    assert set(table["rlnClassNumber"]) <= {1, 2} and "jimnetClassMCP" in table.columns
    assert len(ParticleSet.from_star(out / "particles.star")) == len(original)  # paths resolve
    for name in ("embedding.png", "training.png", "class_averages.png", "fsc.png",
                 "embedding.csv", "metrics.jsonl", "report.html"):
        assert (out / name).stat().st_size > 0
    info = json.loads((out / "run.json").read_text())
    assert info["command"] == "jimnet predict" and info["settings"]["iterations"] == 1
    assert set(info["scores"]) >= {"accuracy_gmm", "accuracy_mcp"}  # the tiny set has truth
    assert info["training"]["n_clusters"] == 2 and info["wall_time_s"] > 0
    for k in sorted(set(table["rlnClassNumber"])):
        vol, voxel = read_volume(out / f"class_{k:03d}.mrc")
        assert vol.shape == (32, 32, 32) and voxel == 10.0 and np.isfinite(vol).all()
        if (table["rlnClassNumber"] == k).sum() >= 2:  # a one-member class has no FSC
            assert (out / f"fsc_{k:03d}.csv").read_text().startswith("frequency_per_voxel")
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 2 and "already exists" in again.output


def test_written_poses_read_back_as_predicted(tiny_star, tiny_model, tmp_path):
    ps = ParticleSet.from_star(tiny_star)
    result = predict(load_model(tiny_model), ps, n_clusters=2, iterations=1, use_tsne=False,
                     batch_size=4, cluster="network", align="network")
    write_prediction(result, ps, tmp_path / "pred")
    rot, shift = ParticleSet.from_star(tmp_path / "pred" / "particles.star").poses()
    np.testing.assert_allclose(rot, result.rotations, atol=1e-6)
    np.testing.assert_allclose(shift, result.shifts, atol=1e-4)
    classes = ParticleSet.from_star(tmp_path / "pred" / "particles.star").class_numbers()
    np.testing.assert_array_equal(classes, result.labels + 1)


def test_two_process_torchrun_predict_matches_one_process(tiny_star, tiny_model, tmp_path):
    import os
    import subprocess
    import sys

    args = [tiny_star, "--model", str(tiny_model), "--iterations", "2", "--batch-size", "3",
            "--no-tsne", "--device", "cpu", "--cluster", "network", "--align", "network"]
    res = CliRunner().invoke(app, ["predict", *args, "--out", str(tmp_path / "one"), "--quiet"])
    assert res.exit_code == 0, res.output
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "jimnet", "predict", *args, "--out", str(tmp_path / "two")]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    stdout = proc.stdout
    assert stdout.count("outputs:") == 1  # rank 1 prints nothing
    one, two = (ParticleSet.from_star(tmp_path / d / "particles.star") for d in ("one", "two"))
    np.testing.assert_array_equal(two.class_numbers(), one.class_numbers())
    np.testing.assert_array_equal(two.table["jimnetClassMCP"], one.table["jimnetClassMCP"])
    for a, b in zip(two.poses(), one.poses(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4)
    for k in sorted(set(one.class_numbers())):
        for stem in (f"class_{k:03d}", f"class_{k:03d}_half1", f"class_{k:03d}_half2"):
            a, b = (read_volume(tmp_path / d / f"{stem}.mrc")[0] for d in ("two", "one"))
            np.testing.assert_allclose(a, b, atol=1e-4 * np.abs(b).max())


def test_a_one_member_cluster_gets_an_average_but_no_fsc(tiny_star, tiny_model, tmp_path,
                                                         monkeypatch):
    import jimnet.predict.pipeline as predict_module

    def one_singleton(particles, features, k, **kwargs):
        labels = np.zeros(len(features), dtype=int)
        labels[-1] = 1
        return labels, np.zeros((len(features), 3)), {}

    monkeypatch.setattr(predict_module, "assign_clusters", one_singleton)
    ps = ParticleSet.from_star(tiny_star)
    result = predict(load_model(tiny_model), ps, n_clusters=2, iterations=1, batch_size=4,
                     cluster="spectral", align="network")
    single = result.classes[1]
    assert list(single.members) == [len(ps) - 1] and single.half_maps is None
    resolutions = write_prediction(result, ps, tmp_path / "pred")
    assert (tmp_path / "pred" / "class_002.mrc").exists() and 2 not in resolutions
    assert not (tmp_path / "pred" / "fsc_002.csv").exists()


def test_classical_refinement_recovers_the_poses_of_a_known_template(tiny_star):
    import torch

    from jimnet.align import AlignParams
    from jimnet.geometry import rotation_error_frobenius
    from jimnet.predict.pipeline import _refine_members
    from tests.conftest import _blob_reference

    ps = ParticleSet.from_star(tiny_star)
    members = np.flatnonzero(ps.class_numbers() == 1)
    template = torch.from_numpy(_blob_reference(1)).float()
    rots, shifts = _refine_members(ps, members, template, ps.tilt_ranges(), "ht",
                                   AlignParams(angular_step=20.0, final_step=2.0), 2, "cpu")
    true_rots, true_shifts = ps.poses()
    assert rotation_error_frobenius(true_rots[members], rots).max() < 0.15
    np.testing.assert_allclose(shifts, true_shifts[members], atol=0.75)


def test_predict_cli_refine_option(tiny_star, tiny_model, tmp_path):
    out = tmp_path / "pred"
    base = ["predict", tiny_star, "--model", str(tiny_model), "--out", str(out), "--iterations",
            "1", "--no-tsne", "--quiet", "--align", "network"]
    bad = CliRunner().invoke(app, [*base, "--refine", "soft"])
    assert bad.exit_code == 2 and "--refine" in bad.output and not out.exists()
    res = CliRunner().invoke(app, [*base, "--refine", "fa", "--angular-step", "30"])
    assert res.exit_code == 0, res.output
    assert (out / "particles.star").is_file()


def test_predict_spectral_clusters_with_auto_k_write_the_bic_curve(tiny_star, tiny_model, tmp_path):
    out = tmp_path / "spec"
    args = ["predict", tiny_star, "--model", str(tiny_model), "--out", str(out), "--iterations",
            "1", "--cluster", "spectral", "--classes", "auto", "--align", "network", "--quiet"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "chosen by BIC" in res.output and "clusters: spectral" in res.output
    assert "network" in res.output  # the table's title names the poses' source
    lines = (out / "classes_bic.csv").read_text().splitlines()
    assert lines[0] == "classes,bic" and [int(r.split(",")[0]) for r in lines[1:]] == list(
        range(1, 8))  # 8 particles: K = 1 … 7


@pytest.mark.parametrize(("value", "message"), [("0", "must be ≥ 1"), ("9", "exceeds the 8"),
                                                 ("two", "whole number")])
def test_predict_refuses_a_bad_number_of_classes(tiny_star, tiny_model, tmp_path, value, message):
    out = tmp_path / "bad"
    res = CliRunner().invoke(app, ["predict", tiny_star, "--model", str(tiny_model), "--out",
                                   str(out), "--classes", value, "--quiet"])
    assert res.exit_code == 2 and message in res.output
    assert len([ln for ln in res.output.strip().splitlines() if ln.strip()]) == 1
    assert not out.exists()


def test_classical_alignment_is_reference_free_and_consistent_across_half_sets(tiny_star):
    from jimnet.evaluate.poses import pair_pose_errors, relative_pose
    from jimnet.predict.pipeline import classical_alignment

    ps = ParticleSet.from_star(tiny_star)
    labels = ps.class_numbers() - 1
    # The blobs reach ~10 voxels from the centre with little density out there (measured:
    # 8 and 11 voxels); this test is about the halves, so the radius is given. With 2 starts
    # (the default) one class's two particles per half find no agreeing pair of frames here.
    _, rot, shift, classes = classical_alignment(ps, labels, global_rounds=2, local_rounds=1,
                                                 n_starts=3, batch_size=4,
                                                 particle_radius=10.0)
    assert [c.number for c in classes] == [1, 2]
    assert all(c.half_maps is not None and c.average.shape == (32, 32, 32) for c in classes)
    assert all(c.particle_radius == 10.0 for c in classes)
    # every within-class pair, including pairs across the two independently refined halves
    pairs = np.array([(i, j) for i in range(len(ps)) for j in range(len(ps))
                      if i < j and labels[i] == labels[j]])
    err, _ = pair_pose_errors(*relative_pose(rot, shift, pairs), *ps.poses(), pairs)
    assert err.max() < 0.2, err


def test_cluster_radii_are_measured_inside_the_box(tiny_star):
    from jimnet.predict.pipeline import cluster_particle_radii

    ps = ParticleSet.from_star(tiny_star)
    radii = cluster_particle_radii(ps, ps.class_numbers() - 1, batch_size=3)
    assert len(radii) == 2 and all(6.0 <= r <= 13.0 for r in radii), radii


def test_predict_and_average_write_the_same_per_class_file_names(tiny_star, tiny_model,
                                                                 tmp_path):
    pred = tmp_path / "pred"
    res = CliRunner().invoke(app, ["predict", tiny_star, "--model", str(tiny_model), "--out",
                                   str(pred), "--iterations", "1", "--no-tsne", "--quiet"])
    assert res.exit_code == 0, res.output
    avg = tmp_path / "avg"  # predict's classes and poses, averaged again
    res = CliRunner().invoke(app, ["average", str(pred / "particles.star"), "--out", str(avg),
                                   "--device", "cpu", "--quiet"])
    assert res.exit_code == 0, res.output

    def per_class(folder):
        return sorted(p.name for p in folder.iterdir()
                      if p.name.startswith(("class_", "fsc_")) and p.suffix in (".mrc", ".csv"))

    names = per_class(pred)
    assert names == per_class(avg) and "class_001.mrc" in names
    for name in names:
        if name.endswith(".csv"):  # same columns too
            assert ((pred / name).read_text().splitlines()[0]
                    == (avg / name).read_text().splitlines()[0])


def _mislabelled_pair_of_classes(tmp_path):
    from jimnet.simulate import SimulationConfig, load_structure, simulate_to_directory

    cfg = SimulationConfig(mode="fourier", snr=100.0, box=20, voxel_size=20.0, resolution=30.0,
                           max_shift=1.0, integer_shifts=False, seed=5, normalize="particle")
    simulate_to_directory(tmp_path / "set", [load_structure("4v4r_30S"), load_structure("4cr2")],
                          12, cfg)
    ps = ParticleSet.from_star(tmp_path / "set" / "particles.star")
    truth = ps.class_numbers() - 1
    labels = truth.copy()
    wrong = [np.flatnonzero(truth == c)[:2] for c in (0, 1)]
    for c, rows in enumerate(wrong):
        labels[rows] = 1 - c  # two particles of each class start in the other cluster
    return ps, truth, labels


def test_reassignment_moves_mislabelled_particles_back(tmp_path):
    from jimnet.predict.pipeline import classical_alignment

    ps, truth, labels = _mislabelled_pair_of_classes(tmp_path)
    final, *_ = classical_alignment(ps, labels, global_rounds=3, reassign_rounds=1,
                                    local_rounds=0, n_starts=1, particle_radius=7.0)
    np.testing.assert_array_equal(final, truth)
    kept, *_ = classical_alignment(ps, labels, global_rounds=1, local_rounds=0, n_starts=1,
                                   particle_radius=7.0)
    np.testing.assert_array_equal(kept, labels)  # no reassignment rounds: clusters kept


@pytest.mark.parametrize(("guard", "score"), [("held-out", "held_out_fit"),
                                              ("half-maps", "half_map_agreement")])
def test_a_reassignment_that_scores_lower_is_undone(tmp_path, monkeypatch, guard, score):
    import jimnet.predict.pipeline as pipeline

    ps, _, labels = _mislabelled_pair_of_classes(tmp_path)
    # Score a result by its agreement with the starting clusters: the reassignment (which
    # moves the mislabelled particles) then looks worse than the fixed stage and is undone.
    def by_start(res):
        return float(np.mean(res.state.classes == labels + 1))

    monkeypatch.setattr(pipeline, score, {"held_out_fit": lambda _, res, *__, **___: by_start(res),
                                          "half_map_agreement": by_start}[score])
    final, *_ = pipeline.classical_alignment(ps, labels, global_rounds=3, reassign_rounds=1,
                                             local_rounds=0, n_starts=1, particle_radius=7.0,
                                             guard=guard)
    np.testing.assert_array_equal(final, labels)


def test_a_split_merge_candidate_is_reassigned_and_kept_when_it_scores_best(tmp_path,
                                                                            monkeypatch):
    from dataclasses import replace

    import jimnet.predict.pipeline as pipeline

    ps, truth, labels = _mislabelled_pair_of_classes(tmp_path)
    proposed = np.where(np.arange(len(truth)) < len(truth) // 2, 1, 2)  # an arbitrary split
    monkeypatch.setattr(pipeline, "split_and_merge",
                        lambda particles, result, *_: replace(result.state, classes=proposed))
    candidates = {}
    # the guard's score: 1 for the split-and-merge candidate, 0 for the others
    monkeypatch.setattr(pipeline, "held_out_fit",
                        lambda _, res, *__, **___: float(res is candidates.get("split-merge")))
    final, *_ = pipeline.classical_alignment(
        ps, labels, global_rounds=2, reassign_rounds=1, local_rounds=0, n_starts=1,
        particle_radius=7.0, split_merge=True,
        on_candidate=lambda name, res, _: candidates.setdefault(name, res))
    assert list(candidates) == ["fixed", "reassign", "split-merge"]
    np.testing.assert_array_equal(final, candidates["split-merge"].state.classes - 1)
    candidates.clear()
    pipeline.classical_alignment(
        ps, labels, global_rounds=2, reassign_rounds=1, local_rounds=0, n_starts=1,
        particle_radius=7.0, on_candidate=lambda name, res, _: candidates.setdefault(name, res))
    assert list(candidates) == ["fixed", "reassign"]


def test_predict_cli_default_split_merge_is_the_library_default():
    import inspect

    from jimnet.cli.predict import predict_command
    from jimnet.predict.pipeline import SPLIT_MERGE

    default = inspect.signature(predict_command).parameters["split_merge"].default
    assert default is SPLIT_MERGE


def test_half_map_agreement_is_the_size_weighted_mean_frequency():
    from types import SimpleNamespace

    from jimnet.predict.pipeline import half_map_agreement

    result = SimpleNamespace(state=SimpleNamespace(classes=np.array([1, 1, 1, 2])),
                             resolutions={1: 20.0})  # class 2 has no FSC: counts as 0
    assert half_map_agreement(result) == pytest.approx((3 / 20.0) / 4)


def test_predict_refuses_reassign_rounds_not_below_iterations(tiny_star, tiny_model, tmp_path):
    out = tmp_path / "bad"
    res = CliRunner().invoke(app, ["predict", tiny_star, "--model", str(tiny_model), "--out",
                                   str(out), "--iterations", "2", "--reassign-rounds", "2",
                                   "--quiet"])
    assert res.exit_code == 2 and "--reassign-rounds" in res.output and not out.exists()


@pytest.mark.parametrize(("spectral", "frame", "chosen", "tried"), [
    (0.8, 0.9, "spectral", ["spectral"]),  # stable spectral clusters: frame is not computed
    (0.2, 0.6, "frame", ["spectral", "frame"]),
    (0.3, 0.1, "spectral", ["spectral", "frame"]),  # tried, but less stable than spectral
])
def test_auto_clusters_keep_stable_spectral_clusters_else_the_more_stable(
        monkeypatch, spectral, frame, chosen, tried):
    import jimnet.predict.pipeline as predict_module

    called = []
    stability = {"spectral": spectral, "frame": frame}

    def fake_clusters(particles, features, k, *, method, **kwargs):
        called.append(method)
        return np.full(6, len(called)), np.full((6, 2), stability[method]), {}

    monkeypatch.setattr(predict_module, "assign_clusters", fake_clusters)
    monkeypatch.setattr(predict_module, "clustering_stability",
                        lambda space, k, **kwargs: float(space[0, 0]))
    labels, _, _, used, scores = predict_module.choose_clusters(None, None, 2, "auto", seed=0)
    assert used == chosen and called == tried and list(scores) == tried
    np.testing.assert_array_equal(labels, np.full(6, tried.index(chosen) + 1))


def test_predict_hybrid_runs_the_network_in_place_of_the_local_rounds(tiny_star, tiny_model):
    ps = ParticleSet.from_star(tiny_star)
    stages = []
    result = predict(load_model(tiny_model), ps, n_clusters=2,
                     cluster="spectral", align="hybrid", iterations=1, local_rounds=1,
                     n_starts=1, particle_radius=10.0, batch_size=4,
                     progress=lambda stage, done, total: stages.append(stage))
    assert result.align_method == "hybrid"
    assert "network refinement" in stages and "classical alignment" in stages
    assert np.isfinite(result.rotations).all() and np.isfinite(result.shifts).all()
    assert all(c.half_maps is not None for c in result.classes if len(c.members) >= 2)


def test_predict_without_a_model_runs_the_network_free_paths_only(tiny_star):
    ps = ParticleSet.from_star(tiny_star)
    result = predict(None, ps, n_clusters=2, cluster="spectral", iterations=1, local_rounds=0,
                     n_starts=1, particle_radius=10.0, batch_size=4)
    assert result.features.shape == (len(ps), 0) and (result.mcp_labels == -1).all()
    assert result.align_method == "classical" and np.isfinite(result.rotations).all()
    for bad in ({"cluster": "network"}, {"align": "hybrid"}, {"n_clusters": None}):
        with pytest.raises(ValueError, match="without a model"):
            predict(None, ps, **{"n_clusters": 2, "cluster": "spectral", **bad})



def test_held_out_fit_compares_each_particle_with_the_other_half_map_only():
    from jimnet.align.refine import RefineResult, state_from
    from jimnet.predict.pipeline import held_out_fit
    from tests.align.helpers import make_blob, wedge_filter
    from tests.cluster.test_frame import _Particles

    n, tilt = 24, (-50.0, 50.0)
    template = make_blob(n, seed=1)
    vols = torch.stack([wedge_filter(template, tilt)] * 4)
    particles = _Particles(vols, tilt)

    def fit(halves):
        # class 1's half-1 map is the template, its half-2 map the template's negative
        state = state_from(np.ones(4, dtype=np.int64), np.tile(np.eye(3), (4, 1, 1)),
                           np.zeros((4, 3)), halves=np.array(halves))
        result = RefineResult(state, {1: template}, {1: (template, -template)}, {})
        return held_out_fit(particles, result, 9.0)

    assert fit([2, 2, 2, 2]) > 0.97  # half-2 particles see the half-1 map
    assert fit([1, 1, 1, 1]) < -0.97  # half-1 particles see the negative
    assert fit([1, 2, 1, 2]) == pytest.approx(0.5 * (fit([2, 2, 2, 2]) + fit([1, 1, 1, 1])))
