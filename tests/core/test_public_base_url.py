"""Followers' links: the server and the workers refuse to start with links no phone can open."""
import os
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from core.settings import ROOT, Settings, UnreachableLinks
from tests.conftest import clear_caches

REAL = "https://api.weixin.qq.com/cgi-bin/"
SANDBOX = "http://127.0.0.1:8001/cgi-bin/"


def _start(monkeypatch, api_base: str, public_base_url: str | None) -> None:
    monkeypatch.setenv("WECHAT_API_BASE", api_base)
    if public_base_url is None:
        monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    else:
        monkeypatch.setenv("PUBLIC_BASE_URL", public_base_url)
    clear_caches()
    from server import app

    with TestClient(app) as client:
        assert client.get("/healthz").status_code in (200, 503)


def test_the_server_refuses_an_unset_public_base_url_against_the_real_api(app_env, monkeypatch):
    with pytest.raises(UnreachableLinks, match="PUBLIC_BASE_URL is not set.*real WeChat API"):
        _start(monkeypatch, REAL, None)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://localhost:8080/", "http://[::1]:8000",
                                 "http://0.0.0.0:8000", "http://127.1.2.3"])
def test_the_server_refuses_a_loopback_public_base_url_against_the_real_api(app_env, monkeypatch, url):
    with pytest.raises(UnreachableLinks, match="loopback"):
        _start(monkeypatch, REAL, url)


@pytest.mark.parametrize("api_base, url", [(REAL, "https://wx.example.gov.cn"), (SANDBOX, None),
                                           (SANDBOX, "http://127.0.0.1:8160")])
def test_the_server_starts_with_a_public_address_or_against_the_sandbox(app_env, monkeypatch, api_base, url):
    _start(monkeypatch, api_base, url)


def test_workers_refuse_too_with_the_reason(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PUBLIC_BASE_URL"}
    env.update(WECHAT_API_BASE=REAL, DATA_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", "import worker"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "PUBLIC_BASE_URL is not set" in done.stderr


@pytest.mark.parametrize("url", ["wx.example.gov.cn", "ftp://wx.example.gov.cn", "https://"])
def test_a_public_base_url_that_is_no_web_address_is_refused(url):
    with pytest.raises(ValueError, match="PUBLIC_BASE_URL must be an http"):
        Settings(public_base_url=url)


def test_an_unset_public_base_url_is_told_apart_from_the_same_value_set(monkeypatch):
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    Settings(wechat_api_base=SANDBOX).check_public_base_url()
    with pytest.raises(UnreachableLinks, match="not set"):
        Settings(wechat_api_base=REAL).check_public_base_url()
