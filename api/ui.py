"""The static screens: the worker's phone app, the operator console, the public page."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
# URL prefix → folder under api/static; each folder's index.html is its screen.
SCREENS = {"/app": "app", "/console": "console", "/public": "public"}


def mount_screens(app: FastAPI) -> None:
    """Serve each screen's folder at its prefix, and send `/` to the console."""
    for prefix, folder in SCREENS.items():
        app.mount(prefix, StaticFiles(directory=STATIC / folder, html=True), name=folder)

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        """The monitoring center's screen is the default page."""
        return RedirectResponse("/console/")
