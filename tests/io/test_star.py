import numpy as np
import pandas as pd
import pytest
import starfile

from jimnet.errors import JimnetInputError
from jimnet.io import (
    ParticleStar,
    make_optics_table,
    make_particles_table,
    optics_box_size,
    optics_pixel_size,
    particle_angles_deg,
    particle_class_numbers,
    particle_origins_xyz_angst,
    particle_tilt_ranges,
    read_particle_star,
    rebase_image_names,
    resolve_image_locations,
    update_particles,
    write_particle_star,
)
from tests.io.helpers import STRING_COLUMNS, write_plain_dataset, write_relion5_dataset


def _new_star(n=3):
    rng = np.random.default_rng(0)
    table = make_particles_table(
        [f"vols/p{i}.mrc" for i in range(n)],
        angles_deg=rng.uniform(-90, 90, (n, 3)),
        origins_xyz_angst=rng.normal(size=(n, 3)),
        class_numbers=[1, 2, 2][:n],
        tilt_ranges_deg=[(-50.0, 55.0)] * n,
        tomo_names=["01", "01", "TS_2"][:n],
        centered_coordinates_xyz_angst=rng.normal(size=(n, 3)) * 100,
    )
    optics = make_optics_table(5.0, 8, tilt_series_pixel_size=1.25)
    return ParticleStar(table, optics)


def test_written_star_is_relion5_and_plain_starfile_reads_it(tmp_path):
    star = _new_star()
    path = write_particle_star(tmp_path / "out.star", star)
    text = path.read_text()
    assert text.startswith("# version 50001\n")
    blocks = starfile.read(path, always_dict=True, parse_as_string=STRING_COLUMNS)
    assert list(blocks) == ["optics", "particles"]
    optics = blocks["optics"]
    assert optics["rlnImagePixelSize"].iloc[0] == pytest.approx(5.0)
    assert optics["rlnImageSize"].iloc[0] == 8
    assert optics["rlnImageDimensionality"].iloc[0] == 3
    assert optics["rlnTomoTiltSeriesPixelSize"].iloc[0] == pytest.approx(1.25)
    parts = blocks["particles"]
    for column in [
        "rlnImageName", "rlnAngleRot", "rlnAngleTilt", "rlnAnglePsi", "rlnOriginXAngst",
        "rlnOriginYAngst", "rlnOriginZAngst", "rlnClassNumber", "rlnOpticsGroup", "rlnTomoName",
        "rlnCenteredCoordinateXAngst", "jimnetTiltMin", "jimnetTiltMax",
    ]:
        assert column in parts.columns, column
    assert list(parts["rlnTomoName"]) == ["01", "01", "TS_2"]
    np.testing.assert_allclose(parts["rlnAngleRot"], star.particles["rlnAngleRot"], atol=1e-6)
    np.testing.assert_allclose(
        parts["rlnOriginZAngst"], star.particles["rlnOriginZAngst"], atol=1e-6
    )
    assert list(parts["rlnClassNumber"]) == [1, 2, 2]
    back = read_particle_star(path)
    pd.testing.assert_frame_equal(back.particles, star.particles, check_exact=False, atol=1e-6)
    assert optics_pixel_size(back) == pytest.approx(5.0)
    assert optics_box_size(back) == 8
    np.testing.assert_allclose(particle_tilt_ranges(back.particles), [(-50.0, 55.0)] * 3)


def test_read_single_block_star_from_starfile_write(tmp_path):
    path = write_plain_dataset(tmp_path, n=4)
    star = read_particle_star(path)
    assert star.optics is None and len(star.particles) == 4
    assert star.particles["rlnTomoName"].iloc[0] == "01"
    assert optics_pixel_size(star) is None
    np.testing.assert_array_equal(particle_class_numbers(star.particles), [1, 2, 1, 2])
    np.testing.assert_allclose(particle_tilt_ranges(star.particles), [(-60.0, 60.0)] * 4)


def test_read_relion5_keeps_blocks_and_columns_on_write_back(tmp_path):
    path = write_relion5_dataset(tmp_path)
    star = read_particle_star(path)
    assert star.other_blocks["general"]["rlnTomoSubTomosAre2DStacks"] == 0
    assert optics_pixel_size(star) == pytest.approx(5.0)
    np.testing.assert_allclose(particle_angles_deg(star.particles)[0], [10, 20, 30])
    np.testing.assert_allclose(particle_origins_xyz_angst(star.particles, 5.0)[0], [1, 2, -3])
    new = ParticleStar(
        update_particles(star.particles, class_numbers=[3, 3, 1]), star.optics, star.other_blocks
    )
    out = write_particle_star(tmp_path / "new.star", new)
    blocks = starfile.read(out, always_dict=True, parse_as_string=STRING_COLUMNS)
    assert list(blocks) == ["general", "optics", "particles"]
    assert list(blocks["particles"].columns) == list(star.particles.columns)
    assert list(blocks["optics"].columns) == list(star.optics.columns)
    assert list(blocks["particles"]["rlnClassNumber"]) == [3, 3, 1]
    assert list(blocks["particles"]["rlnTomoParticleName"]) == ["01/1", "01/2", "02/1"]


def test_legacy_pixel_origins(tmp_path):
    table = pd.DataFrame({"rlnImageName": ["a.mrc"], "rlnOriginX": [2.0], "rlnOriginY": [0.0],
                          "rlnOriginZ": [-1.0]})
    np.testing.assert_allclose(particle_origins_xyz_angst(table, 3.0), [[6.0, 0.0, -3.0]])
    new = update_particles(table, origins_xyz_angst=[[1.0, 2.0, 3.0]])
    assert "rlnOriginX" not in new.columns and new["rlnOriginZAngst"].iloc[0] == 3.0


def test_missing_image_name_column(tmp_path):
    path = tmp_path / "bad.star"
    starfile.write(pd.DataFrame({"rlnAngleRot": [1.0, 2.0]}), path)
    with pytest.raises(JimnetInputError, match="rlnImageName") as info:
        read_particle_star(path)
    assert "bad.star" in str(info.value)


@pytest.mark.parametrize("bad", ["nan", "abc", "inf"])
def test_bad_angle_names_file_row_and_image(tmp_path, bad):
    path = write_plain_dataset(tmp_path, n=4)
    table = starfile.read(path, parse_as_string=STRING_COLUMNS)
    table["rlnAngleTilt"] = table["rlnAngleTilt"].astype(object)
    table.loc[2, "rlnAngleTilt"] = bad
    starfile.write(table, path)
    with pytest.raises(JimnetInputError) as info:
        read_particle_star(path)
    msg = str(info.value)
    assert "particles.star row 3" in msg and "vols/p02.mrc" in msg and "rlnAngleTilt" in msg


def test_bad_class_number(tmp_path):
    path = write_plain_dataset(tmp_path, n=2, extra={"rlnClassNumber": [1, 0]})
    with pytest.raises(JimnetInputError, match="row 2"):
        read_particle_star(path)


def test_not_a_star_file(tmp_path):
    path = tmp_path / "x.star"
    path.write_text("hello\n")
    with pytest.raises(JimnetInputError, match=r"x\.star"):
        read_particle_star(path)
    with pytest.raises(JimnetInputError, match="not found"):
        read_particle_star(tmp_path / "nope.star")


def test_two_d_stacks_rejected(tmp_path):
    path = write_relion5_dataset(tmp_path)
    path.write_text(path.read_text().replace("_rlnTomoSubTomosAre2DStacks                       0",
                                             "_rlnTomoSubTomosAre2DStacks 1"))
    with pytest.raises(JimnetInputError, match="2D"):
        read_particle_star(path)


def test_image_locations_relative_absolute_and_stack(tmp_path):
    star_path = tmp_path / "job" / "particles.star"
    star_path.parent.mkdir()
    table = pd.DataFrame({"rlnImageName": ["a.mrc", "3@sub/s.mrcs", str(tmp_path / "abs.mrc")]})
    locs, base = resolve_image_locations(table, star_path)
    assert base == star_path.parent
    assert locs[0].path == star_path.parent / "a.mrc" and locs[0].index is None
    assert locs[1].path == star_path.parent / "sub/s.mrcs" and locs[1].index == 2
    assert locs[2].path == tmp_path / "abs.mrc"
    # RELION project layout: names relative to an ancestor of the STAR directory.
    (tmp_path / "job" / "sub").mkdir()
    (tmp_path / "job" / "sub" / "x.mrc").write_bytes(b"")
    deep = tmp_path / "job" / "sub" / "deeper" / "p.star"
    _, base = resolve_image_locations(pd.DataFrame({"rlnImageName": ["job/sub/x.mrc"]}), deep)
    assert base == tmp_path


def test_rebase_image_names(tmp_path):
    table = pd.DataFrame({"rlnImageName": ["vols/a.mrc", "2@vols/s.mrcs", "/abs/b.mrc"]})
    same = rebase_image_names(table, tmp_path, tmp_path / "sub" / "out.star")
    assert list(same["rlnImageName"]) == list(table["rlnImageName"])
    moved = rebase_image_names(table, tmp_path / "in", tmp_path / "out" / "x.star")
    assert list(moved["rlnImageName"]) == ["../in/vols/a.mrc", "2@../in/vols/s.mrcs", "/abs/b.mrc"]


def test_update_particles_validates_shapes():
    table = pd.DataFrame({"rlnImageName": ["a", "b"], "keep": [1, 2]})
    out = update_particles(table, angles_deg=np.zeros((2, 3)), tilt_ranges_deg=(-45.0, 45.0))
    assert list(out["keep"]) == [1, 2] and "keep" in out.columns
    with pytest.raises(ValueError, match="shape"):
        update_particles(table, angles_deg=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="1-based"):
        update_particles(table, class_numbers=[0, 1])
