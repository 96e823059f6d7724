"""The vendored assets under /console/static (long-cached: each package's folder names its version,
so a new version is a new URL) and /docs and /redoc drawn from them: nothing comes from a CDN."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from console.templating import HERE, vendor

YEAR = 365 * 24 * 3600


class CachedStatic(StaticFiles):
    """Vendored files never change under their versioned path; our own CSS and JS revalidate."""

    async def get_response(self, path: str, scope: Scope):
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = (f"public, max-age={YEAR}, immutable" if path.startswith("vendor/")
                                                 else "no-cache")
        return response


static = CachedStatic(directory=HERE / "static")
docs = APIRouter(include_in_schema=False)


@docs.get("/docs", response_class=HTMLResponse)
def swagger(request: Request) -> HTMLResponse:
    app = request.app
    return get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title} - Swagger UI",
                               swagger_js_url=vendor("swagger", "swagger-ui-bundle.js"),
                               swagger_css_url=vendor("swagger", "swagger-ui.css"),
                               swagger_favicon_url=vendor("swagger", "favicon-32x32.png"))


@docs.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    app = request.app
    return get_redoc_html(openapi_url=app.openapi_url, title=f"{app.title} - ReDoc",
                          redoc_js_url=vendor("redoc", "redoc.standalone.js"),
                          redoc_favicon_url=vendor("swagger", "favicon-32x32.png"), with_google_fonts=False)
