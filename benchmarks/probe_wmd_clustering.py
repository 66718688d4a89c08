"""Exploratory probe (issue 13): consensus alignment → wedge-masked differences → PCA → GMM.

All particles are aligned reference-free as one class by ``predict``'s classical path
(cached next to the STAR file as ``<star>.consensus.npz``); each aligned particle's
wedge-masked difference from the consensus average, ``W_i · (FFT(aligned_i) − FFT(avg))``
low-passed to ``cut`` cycles per box and masked to a sphere, is the feature; PCA → diagonal
GMM; the clustering accuracy against the STAR's ``rlnClassNumber`` is printed for a small grid
of cut-offs and PCA sizes. No result file yet: a probe for the next design step, not a
benchmark. Usage: ``.venv/bin/python benchmarks/probe_wmd_clustering.py PARTICLES.star``.
"""
import os
import sys
import time

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture

from jimnet.align.wedge import WedgeSet
from jimnet.evaluate.clustering import clustering_accuracy
from jimnet.geometry import invert_pose
from jimnet.io import ParticleSet
from jimnet.predict.pipeline import assign_clusters, classical_alignment
from jimnet.transform import rigid_transform

star = sys.argv[1]
ps = ParticleSet.from_star(star)
truth = ps.class_numbers() - 1
k = truth.max() + 1
n, N = len(ps), ps.box_size
t0 = time.time()
sp = assign_clusters(ps, None, k, method="spectral", seed=0)[0]
print("spectral", clustering_accuracy(truth, sp).accuracy, flush=True)
cache = star + ".consensus.npz"
if os.path.exists(cache):
    z = np.load(cache)
    rot, sh, avg = z["rot"], z["sh"], torch.as_tensor(z["avg"])
else:
    _, rot, sh, classes = classical_alignment(ps, np.zeros(n, int), seed=0)
    avg = classes[0].average
    np.savez(cache, rot=rot, sh=sh, avg=avg.numpy())
print(f"consensus {time.time()-t0:.0f}s", flush=True)
tilts = ps.tilt_ranges()
A = torch.fft.rfftn(avg.double())
f = torch.fft.fftfreq(N).abs()
fr = torch.fft.rfftfreq(N)
kk = torch.sqrt(f[:, None, None]**2 + f[None, :, None]**2 + fr[None, None, :]**2) * N
z = torch.arange(N) - N // 2
rr = torch.sqrt(z[:, None, None]**2 + z[None, :, None]**2 + z[None, None, :]**2)
feats = {c: [] for c in (8, 11, 14, 16)}
for start in range(0, n, 16):
    idx = np.arange(start, min(n, start + 16))
    vol = ps.get_batch(idx.tolist())
    inv_r, inv_t = invert_pose(torch.as_tensor(rot[idx]), torch.as_tensor(sh[idx]))
    al = rigid_transform(vol.float(), inv_r.float(), inv_t.float())
    wset = WedgeSet.build([tuple(tilts[i]) for i in idx], N)
    w = wset.rotated_grid(N, inv_r.float(), layout="rfft").double()
    F = torch.fft.rfftn(al.double(), dim=(-3, -2, -1))
    for c in feats:
        lp = (kk <= c).double()
        d = torch.fft.irfftn(w * (F - A) * lp, s=(N,)*3, dim=(-3, -2, -1))
        d = d * (rr <= 0.45 * N)
        feats[c].append(d.reshape(len(idx), -1).float().numpy())
for c, fl in feats.items():
    X = np.concatenate(fl).astype(np.float64)
    X /= X.std()
    for dims in (10, 20, 40):
        Y = PCA(dims, random_state=0).fit_transform(X)
        Y /= Y[:, 0].std()
        for cov in ("diag",):
            gmm = GaussianMixture(k, covariance_type=cov, n_init=10, random_state=0,
                                  reg_covar=1e-4)
            lab = gmm.fit_predict(Y)
            print(f"cut {c} pca {dims} {cov}: {clustering_accuracy(truth, lab).accuracy:.3f}")
print(f"total {time.time()-t0:.0f}s")
