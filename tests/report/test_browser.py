"""report.html opened in a real browser (headless Chromium): it renders, every image decodes,
and the console stays clean."""

import re
import shutil
import subprocess

import numpy as np
import pytest
from matplotlib.image import imread

BROWSER = next((b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)),
               None)
pytestmark = pytest.mark.skipif(
    BROWSER is None, reason="no headless Chromium on PATH (Debian: apt-get install chromium; "
    ".ci/run installs it)")

# Appended to a copy of the page: after every image has loaded (or failed), record how many
# failed to decode; --dump-dom then prints the marker.
_PROBE = """<script>
window.addEventListener("load", () => {
  const bad = [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).length;
  document.body.setAttribute("data-images", document.images.length + "/" + bad);
});
</script>"""


def _chromium(*args: str) -> subprocess.CompletedProcess:
    cmd = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-extensions", "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
           *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def test_the_report_renders_in_headless_chromium(prediction_dir, tmp_path):
    page = (prediction_dir / "report.html").read_text(encoding="utf-8")
    probed = tmp_path / "probed.html"
    probed.write_text(page.replace("</body>", _PROBE + "</body>"), encoding="utf-8")

    dom = _chromium("--virtual-time-budget=5000", "--dump-dom", probed.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    marker = re.search(r'data-images="(\d+)/(\d+)"', dom.stdout)
    assert marker, "the load handler never ran"
    total, broken = map(int, marker.groups())
    assert total == page.count("<img") and total > 0
    assert broken == 0, f"{broken} of {total} images did not decode"
    console = [line for line in dom.stderr.splitlines()
               if ":CONSOLE" in line or "Uncaught" in line]
    assert not console, console

    shot = tmp_path / "shot.png"
    run = _chromium("--window-size=1280,1600", f"--screenshot={shot}",
                    (prediction_dir / "report.html").as_uri())
    assert run.returncode == 0 and shot.is_file(), run.stderr[-2000:]
    pixels = imread(shot)[..., :3]
    assert pixels.shape[:2] == (1600, 1280)
    grey = pixels.mean(axis=2)
    # Not blank: text, tables and figures make a good share of the page non-background, and
    # the page has both dark (text) and mid-grey (images) pixels.
    assert np.mean(np.abs(grey - np.median(grey)) > 0.1) > 0.02
    assert grey.min() < 0.3
