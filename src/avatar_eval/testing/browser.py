"""Headless Debian chromium for the browser tests (study app, HTML report): one path, one set of
flags, one skip rule."""

from __future__ import annotations

from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--mute-audio"]


def browser_marks() -> list:
    """``pytestmark`` of a browser test module: marked ``browser``, skipped with the install line
    when Debian's chromium is absent."""
    import pytest

    return [
        pytest.mark.browser,
        pytest.mark.skipif(not Path(CHROMIUM).exists(),
                           reason="Debian chromium not installed at /usr/bin/chromium (apt-get install -y chromium)"),
    ]
