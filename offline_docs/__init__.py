"""Swagger UI served from the installed `fastapi-offline` package instead of a CDN, so `/docs` (the API's) and
`/_sandbox/docs` (the sandbox's) render on a host with no internet access.

Use: build the FastAPI app with `docs_url=None`, then `serve_swagger_ui(app, docs_url=…, assets_url=…)`.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

# The package ships Swagger UI's bundle, stylesheet and favicon as data files.
ASSETS = Path(str(resources.files("fastapi_offline") / "static"))


def serve_swagger_ui(app: FastAPI, *, docs_url: str, assets_url: str) -> None:
    if app.openapi_url is None:
        raise ValueError("the app serves no OpenAPI document for Swagger UI to show")
    openapi_url = app.openapi_url
    app.mount(assets_url, StaticFiles(directory=ASSETS), name=f"swagger-ui-assets{assets_url}")

    @app.get(docs_url, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} – API docs",
            swagger_js_url=f"{root}{assets_url}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{assets_url}/swagger-ui.css",
            swagger_favicon_url=f"{root}{assets_url}/favicon.png",
        )
