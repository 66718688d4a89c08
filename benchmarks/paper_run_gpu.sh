#!/usr/bin/env bash
# The paper's benchmark on one large GPU (+16 CPU cores), paper-faithful networks and jimnet's
# defaults side by side, in one command:
#
#   benchmarks/paper_run_gpu.sh OUT            # GPU: scale 'gpu', device cuda (≤ 10 min target)
#   SMOKE=1 benchmarks/paper_run_gpu.sh OUT    # CPU smoke run of the same script (tests)
#
# What it runs (the paper's schedule: networks trained from scratch at SNR 100, then fine-tuned
# from that model on every other SNR at a 10× smaller learning rate):
#   1. `jimnet benchmark --network-config default` (simulates the paper's five structures at
#      SNR 100, 0.1, 0.05 into OUT/data; methods H-T, Gum-Net, Jim-Net, Jim-Net (cluster));
#   2. `jimnet benchmark --network-config paper` on the same data (Gum-Net, Jim-Net,
#      Jim-Net (cluster) as the paper built them: random coarse bias, sigmoid ZYZ Euler heads,
#      ±N/2 shifts, Keras BatchNorm momentum, imputed loss, no recalibration or guards);
#   3. OUT/README.md: both runs' alignment and clustering summaries one after the other, with
#      the commands and wall times.
# Overrides: SCALE, DEVICE, SEED, SNRS_OVERRIDE, METHODS (both runs), PYTHON (the interpreter with
# jimnet installed).
# Expected wall time on one H200 + 16 cores: see benchmarks/results/paper_run_gpu.md.
set -euo pipefail

OUT="${1:?usage: benchmarks/paper_run_gpu.sh OUT}"
PYTHON="${PYTHON:-python}"
SEED="${SEED:-0}"
if [[ "${SMOKE:-0}" == 1 ]]; then
    SCALE="${SCALE:-smoke}"; DEVICE="${DEVICE:-cpu}"; SNRS="100,0.1"
    DEFAULT_METHODS="gumnet,jimnet"; PAPER_METHODS="gumnet,jimnet"
else
    SCALE="${SCALE:-gpu}"; DEVICE="${DEVICE:-cuda}"; SNRS="100,0.1,0.05"
    DEFAULT_METHODS="ht,gumnet,jimnet,jimnet-cluster"; PAPER_METHODS="gumnet,jimnet,jimnet-cluster"
fi
SNRS="${SNRS_OVERRIDE:-$SNRS}"
if [[ -n "${METHODS:-}" ]]; then DEFAULT_METHODS=$METHODS; PAPER_METHODS=$METHODS; fi
mkdir -p "$OUT"
rm -f "$OUT/times.txt"
start=$(date +%s)
for config in default paper; do
    if [[ $config == default ]]; then methods=$DEFAULT_METHODS; else methods=$PAPER_METHODS; fi
    t0=$(date +%s)
    "$PYTHON" -m jimnet benchmark --scale "$SCALE" --device "$DEVICE" --seed "$SEED" \
        --snr "$SNRS" --data "$OUT/data" --out "$OUT/$config" --network-config "$config" \
        --methods "$methods" --force --quiet
    echo "$config: $(( $(date +%s) - t0 )) s" >> "$OUT/times.txt"
done
{
    echo "# Paper run: jimnet defaults vs paper-faithful networks"
    echo
    echo "- command: \`SMOKE=${SMOKE:-0} SCALE=$SCALE DEVICE=$DEVICE SEED=$SEED SNRS_OVERRIDE=$SNRS METHODS=${METHODS:-} benchmarks/paper_run_gpu.sh $OUT\`"
    echo "- total wall time: $(( $(date +%s) - start )) s ($(tr '\n' ';' < "$OUT/times.txt"))"
    echo "- each run's README.md (in $OUT/default and $OUT/paper) records device, sizes and seed"
    for config in default paper; do
        echo
        echo "## --network-config $config"
        echo
        cat "$OUT/$config/alignment_summary.md"
        echo
        [[ -f "$OUT/$config/clustering_summary.md" ]] && cat "$OUT/$config/clustering_summary.md"
    done
} > "$OUT/README.md"
echo "wrote $OUT/README.md"
