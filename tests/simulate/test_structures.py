import gzip
import hashlib
import re
from importlib import resources
from pathlib import Path

import gemmi
import mrcfile
import numpy as np
import pytest

from jimnet.errors import JimnetInputError
from jimnet.simulate import (
    PAPER_BENCHMARK,
    SHIPPED_STRUCTURES,
    load_structure,
    shipped_structure_path,
    structure_density,
)
from tests.simulate.helpers import asymmetric_points, write_beads, write_pdb


def test_shipped_structures_are_package_data_with_matching_checksums():
    folder = resources.files("jimnet").joinpath("data", "structures")
    provenance = folder.joinpath("PROVENANCE.md").read_text(encoding="utf-8")
    pairs = re.findall(r"^([0-9a-f]{64})  (\S+)$", provenance, flags=re.M)
    sums = {name: digest for digest, name in pairs}
    assert len(sums) == len(SHIPPED_STRUCTURES) == 5
    for entry in SHIPPED_STRUCTURES:
        data = folder.joinpath(entry.filename).read_bytes()
        assert hashlib.sha256(data).hexdigest() == sums[entry.filename]
        assert shipped_structure_path(entry.paper_id).name == entry.filename


@pytest.mark.parametrize("name", PAPER_BENCHMARK)
def test_default_benchmark_structures_load_and_fit_the_box(name):
    s = load_structure(name)
    assert s.name == name
    dens, info = structure_density(s, box=32, voxel_size=12.0, resolution=12.0)
    assert dens.shape == (32, 32, 32) and dens.dtype == np.float32
    assert dens.max() == pytest.approx(1.0)
    assert info.fraction_outside < 0.01


def test_paper_ids_are_aliases():
    assert load_structure("5lqw").name == "3jb9"
    assert load_structure("5MPA").kind == "map"


def test_pdb_mmcif_beads_and_maps_give_the_same_density(tmp_path):
    xyz = asymmetric_points()
    pdb = write_pdb(tmp_path / "m.pdb", xyz)
    pdb_gz = write_pdb(tmp_path / "m.pdb.gz", xyz, gz=True)
    st = gemmi.read_structure(str(pdb))
    st.setup_entities()
    cif = tmp_path / "m.cif"
    st.make_mmcif_document().write_file(str(cif))
    cif_gz = tmp_path / "m.cif.gz"
    cif_gz.write_bytes(gzip.compress(cif.read_bytes()))
    beads = write_beads(tmp_path / "m_residue_com.tsv.gz", xyz,
                        np.full(len(xyz), gemmi.Element("C").weight))

    ref, _ = structure_density(load_structure(pdb), box=24, voxel_size=4.0, resolution=12.0)
    for path in (pdb_gz, cif, cif_gz, beads):
        s = load_structure(path)
        assert s.kind == "points" and s.points_zyx.shape == (len(xyz), 3)
        np.testing.assert_allclose(s.points_zyx[:, ::-1], xyz, atol=1e-3)  # stored zyx
        dens, _ = structure_density(s, box=24, voxel_size=4.0, resolution=12.0)
        np.testing.assert_allclose(dens, ref, atol=1e-5)
    assert load_structure(beads).name == "m"

    # A map of the same model at 3 Å/voxel (also gzipped), resampled to 4 Å.
    fine, _ = structure_density(load_structure(pdb), box=40, voxel_size=3.0, resolution=12.0)
    for name, vs in (("m.mrc", 3.0), ("m.mrc.gz", 3.0)):
        path = tmp_path / name
        with mrcfile.new(path, compression="gzip" if name.endswith(".gz") else None) as mrc:
            mrc.set_data(fine * 7.0 + 0.5)  # arbitrary scale and background
            mrc.voxel_size = vs
        s = load_structure(path)
        assert s.kind == "map" and s.map_voxel_size == pytest.approx(vs)
        dens, _ = structure_density(s, box=24, voxel_size=4.0, resolution=12.0,
                                    map_resolution=12.0)  # already at 12 Å: no extra blur
        assert np.corrcoef(dens.ravel(), ref.ravel())[0, 1] > 0.99
        assert dens.max() == pytest.approx(1.0)


def test_centre_of_mass_lands_on_n_over_2_and_situs_width(tmp_path):
    # One heavy atom: the density is a Gaussian with 1-D std R/(2√3), centred on voxel N//2.
    pdb = write_pdb(tmp_path / "one.pdb", np.array([[3.3, -7.1, 12.9]]))
    dens, _ = structure_density(load_structure(pdb), box=25, voxel_size=1.0, resolution=10.0)
    grid = np.indices(dens.shape).reshape(3, -1)
    w = dens.ravel() / dens.sum()
    com = grid @ w
    np.testing.assert_allclose(com, [12, 12, 12], atol=1e-6)
    std = np.sqrt(((grid - com[:, None]) ** 2) @ w)
    np.testing.assert_allclose(std, 10.0 / (2 * np.sqrt(3)), rtol=0.03)


def test_bad_structure_inputs(tmp_path):
    with pytest.raises(JimnetInputError, match="unknown structure name"):
        load_structure("not_a_structure")
    with pytest.raises(JimnetInputError, match="not found"):
        load_structure(tmp_path / "missing.pdb")
    bad = tmp_path / "x.xyz"
    bad.write_text("1 2 3\n")
    with pytest.raises(JimnetInputError, match="unknown structure file type"):
        load_structure(bad)
    garbage = tmp_path / "g.mrc"
    garbage.write_bytes(b"not an mrc file at all")
    with pytest.raises(JimnetInputError, match=r"g\.mrc"):
        load_structure(garbage)
    nomrc = tmp_path / "novs.mrc"
    with mrcfile.new(nomrc) as mrc:
        mrc.set_data(np.ones((8, 8, 8), np.float32))
    with pytest.raises(JimnetInputError, match="voxel size"):
        load_structure(nomrc)
    assert load_structure(nomrc, map_voxel_size=5.0).map_voxel_size == 5.0


def test_installed_package_data_path_exists():
    for entry in SHIPPED_STRUCTURES:
        assert Path(shipped_structure_path(entry.name)).is_file()
