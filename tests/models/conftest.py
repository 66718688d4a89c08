import numpy as np
import pytest
import torch
from scipy import ndimage


def smooth_volume(n: int = 32, seed: int = 0, sigma: float = 2.0) -> np.ndarray:
    """An asymmetric, smooth, centred blob (no rotational symmetry), float64."""
    rng = np.random.default_rng(seed)
    vol = ndimage.gaussian_filter(rng.normal(size=(n, n, n)), sigma)
    r2 = np.sum((np.indices((n, n, n)) - n // 2) ** 2, axis=0)
    vol *= np.exp(-r2 / (2 * (n / 5) ** 2))
    return (vol - vol.mean()) / vol.std()


@pytest.fixture
def smooth32() -> torch.Tensor:
    return torch.from_numpy(smooth_volume(32, seed=0))


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _single_thread():
    """Run each model test on one intra-op thread (restored afterwards).

    The volumes are tiny; with several OpenMP threads on a busy 2-core machine the barrier
    spinning makes 3D conv backward passes 5–10× slower than on one thread.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
