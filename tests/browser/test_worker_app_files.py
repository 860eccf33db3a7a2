"""The worker app's files: the service worker keeps every file the app loads, imports resolve."""

from __future__ import annotations

import json
import re
from pathlib import Path

from api.ui import STATIC

APP = STATIC / "app"
# Files the app does not need offline: the service worker itself and the large install icon.
NOT_IN_SHELL = {"sw.js", "icons/icon-512.png"}


def shell() -> set[str]:
    """The SHELL list of sw.js."""
    listed = re.search(r"const SHELL = \[(.*?)\];", (APP / "sw.js").read_text(), re.S)
    assert listed is not None, "sw.js has no SHELL list"
    return set(re.findall(r'"([^"]+)"', listed.group(1)))


def test_the_service_worker_keeps_every_file_of_the_app() -> None:
    files = {str(p.relative_to(APP)) for p in APP.rglob("*") if p.is_file()}
    assert shell() == (files - NOT_IN_SHELL) | {"./"}


def test_every_module_import_names_a_file() -> None:
    for module in (APP / "js").glob("*.js"):
        for target in re.findall(r'from "(\.[^"]+)"', module.read_text()):
            assert (module.parent / target).resolve().is_file(), f"{module.name}: {target}"


def test_the_manifest_names_icons_that_exist() -> None:
    manifest = json.loads((APP / "manifest.webmanifest").read_text())
    assert manifest["start_url"] == "./"
    for icon in manifest["icons"]:
        assert Path(APP / icon["src"]).is_file(), icon["src"]
