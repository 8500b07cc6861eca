"""Open an HTML page in headless Chromium: a screenshot, and how many of its images decoded."""

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"]

# Injected into a copy of the page: once everything has loaded, the browser writes on <body> how
# many images the page has and how many it decoded (complete, with a natural width).
PROBE = ("<script>window.addEventListener('load', () => { const images = [...document.images];"
         " document.body.dataset.images = images.length;"
         " document.body.dataset.decoded = images.filter(i => i.complete && i.naturalWidth > 0).length; });"
         "</script>")


def chromium() -> str:
    """The Chromium executable; skips the test where there is none (CI requires it)."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("MINIATURE_REQUIRE_CHROMIUM"):
        pytest.fail("chromium is required here (MINIATURE_REQUIRE_CHROMIUM) but not installed")
    pytest.skip("chromium is not installed (Debian: apt-get install chromium); the report is not opened in a browser")


def _run(page: Path, *args: str) -> str:
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", *args, page.resolve().as_uri()],
                                capture_output=True, text=True, timeout=180)
    if result.returncode != 0:
        raise AssertionError(f"chromium failed ({result.returncode}): {result.stderr[-2000:]}")
    return result.stdout


def screenshot(page: Path, out: Path, width: int = 1280, height: int = 4000) -> Path:
    _run(page, f"--window-size={width},{height}", f"--screenshot={out}")
    return out


def decoded_images(page: Path, workdir: Path) -> tuple[int, int]:
    """(images on the page, images the browser decoded) after the page has loaded."""
    probe = workdir / f"probe-{page.name}"
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = _run(probe, "--virtual-time-budget=10000", "--dump-dom")
    body = re.search(r"<body[^>]*\bdata-images=\"(\d+)\"[^>]*\bdata-decoded=\"(\d+)\"", dom)
    if body is None:
        raise AssertionError("the probe did not run: no image counts on <body>")
    return int(body.group(1)), int(body.group(2))
