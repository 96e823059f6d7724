"""Every browser asset is vendored and served from here, long-cached; /docs and /redoc work offline."""
from __future__ import annotations

import re
from pathlib import Path

from console.templating import VENDOR

ROOT = Path(__file__).resolve().parents[2]
VENDOR_DIR = ROOT / "console" / "static" / "vendor"


def test_docs_and_redoc_load_their_assets_from_the_vendored_folder(client):
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        urls = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert urls, page
        assert all(u.startswith("/console/static/vendor/") for u in urls), (page, urls)
        for url in urls:
            assert client.get(url).status_code == 200, url
        assert "fonts.googleapis" not in html and "cdn" not in html


def test_vendored_files_are_served_with_long_cache_headers(client):
    r = client.get(f"/console/static/vendor/{VENDOR['htmx']}/htmx.min.js")
    assert r.status_code == 200
    assert "immutable" in r.headers["cache-control"] and "max-age=31536000" in r.headers["cache-control"]
    assert client.get("/console/static/console.css").headers["cache-control"] == "no-cache"


def test_every_vendored_package_has_its_licence_and_a_line_in_vendor_md():
    listed = (ROOT / "console" / "VENDOR.md").read_text()
    folders = {p.name for p in VENDOR_DIR.iterdir()}
    assert folders == set(VENDOR.values())
    for folder in folders:
        package, version = folder.rsplit("-", 1)
        assert (VENDOR_DIR / folder / "LICENSE").exists(), folder
        assert re.search(rf"\| {re.escape(package)} \| {re.escape(version)} \|.*\| `sha512-", listed), folder


def test_no_page_template_loads_anything_from_another_site():
    for template in (ROOT / "console" / "templates").rglob("*.html"):
        assert not re.search(r'(src|href)="(https?:)?//', template.read_text()), template
