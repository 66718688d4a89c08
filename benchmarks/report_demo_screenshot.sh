#!/usr/bin/env bash
# Regenerates docs/report_demo.png: runs `jimnet demo` with its defaults (seed 0) into OUT
# (default demo_out/) and screenshots the top of OUT/predict/report.html in headless Chromium,
# 1280 px wide. The demo's table (its numbers, wall time) is kept in OUT/demo.log.
#   usage: benchmarks/report_demo_screenshot.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-demo_out}
log=$(mktemp)
.venv/bin/jimnet demo --out "$out" --force --quiet > "$log"
echo "finished $(date -u +%FT%TZ); load average $(cut -d" " -f1-3 /proc/loadavg); $(nproc) CPUs" >> "$log"
mv "$log" "$out/demo.log"
cat "$out/demo.log"
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome)
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,2400 \
    --screenshot="$PWD/docs/report_demo.png" "file://$(realpath "$out")/predict/report.html" \
    2>/dev/null
echo "wrote docs/report_demo.png"
