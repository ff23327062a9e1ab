"""The lineage explorer: a static single-page app built from ``web/`` (see web/README.md).

The build output lives in ``static/`` (``index.html`` plus hashed files under ``assets/``)
and ships inside the Python package, so serving it needs no Node at run time.
"""

from __future__ import annotations

from pathlib import Path

import fastapi
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
INDEX_HTML = STATIC_DIR / "index.html"
ASSETS_DIR = STATIC_DIR / "assets"

# Client-side routes of the explorer; everything else (``/api/...``, ``/docs``) is untouched.
CLIENT_ROUTES = ("/explore/{rest:path}",)

_MISSING_BUILD = (
    '<!doctype html><html><head><meta charset="utf-8"><title>headwater</title></head><body>'
    "<h1>headwater</h1><p>The lineage explorer has not been built. Run "
    "<code>npm ci &amp;&amp; npm run build</code> in <code>web/</code> (see web/README.md). "
    'The API is available under <a href="/docs">/docs</a>.</p></body></html>'
)


def _index() -> Response:
    if not INDEX_HTML.is_file():
        return HTMLResponse(_MISSING_BUILD, status_code=503)
    # index.html names hashed asset files: it must never be cached stale.
    return FileResponse(INDEX_HTML, media_type="text/html", headers={"Cache-Control": "no-cache"})


def mount_web(app: fastapi.FastAPI) -> None:
    """Serve the explorer at ``/`` and ``/explore/...`` and its files at ``/assets``."""

    async def index() -> Response:
        return _index()

    async def client_route(rest: str) -> Response:
        return _index()

    app.add_api_route("/", index, methods=["GET"], include_in_schema=False)
    for path in CLIENT_ROUTES:
        app.add_api_route(path, client_route, methods=["GET"], include_in_schema=False)
    if ASSETS_DIR.is_dir():
        app.mount("/assets", StaticFiles(directory=ASSETS_DIR), name="web-assets")


__all__ = ["STATIC_DIR", "mount_web"]
