import pytest

from jimnet.errors import JimnetInputError
from jimnet.io import atomic_output_dir, atomic_write, atomic_write_text, check_all_can_write


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    out = tmp_path / "sub" / "a.txt"
    atomic_write_text(out, "hello")
    assert out.read_text() == "hello"
    assert sorted(p.name for p in out.parent.iterdir()) == ["a.txt"]


def test_refuses_overwrite_unless_force(tmp_path):
    out = tmp_path / "a.txt"
    out.write_text("old")
    with pytest.raises(JimnetInputError, match=r"a\.txt"):
        atomic_write_text(out, "new")
    assert out.read_text() == "old"
    with pytest.raises(JimnetInputError, match=r"a\.txt"):
        check_all_can_write([tmp_path / "b.txt", out])
    atomic_write_text(out, "new", force=True)
    assert out.read_text() == "new"


def test_failure_leaves_nothing(tmp_path):
    out = tmp_path / "a.txt"
    with pytest.raises(RuntimeError, match="boom"), atomic_write(out) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_atomic_output_dir(tmp_path):
    out = tmp_path / "result"
    with atomic_output_dir(out) as d:
        (d / "x.txt").write_text("1")
    assert (out / "x.txt").read_text() == "1"
    with pytest.raises(JimnetInputError, match="result"), atomic_output_dir(out):
        pass
    with pytest.raises(RuntimeError), atomic_output_dir(out, force=True) as d:
        (d / "y.txt").write_text("2")
        raise RuntimeError
    assert sorted(p.name for p in out.iterdir()) == ["x.txt"]
    with atomic_output_dir(out, force=True) as d:
        (d / "y.txt").write_text("2")
    assert sorted(p.name for p in out.iterdir()) == ["y.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result"]
