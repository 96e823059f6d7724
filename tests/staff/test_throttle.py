"""Sign-in throttling per account and per address, with lockouts that grow; and with Redis gone."""
from __future__ import annotations

import time

from core.redis import get_redis
from staff import throttle
from staff.models import Role
from tests.conftest import clear_caches
from tests.staff.conftest import PASSWORD, make_user, token, use_settings


def test_lockouts_double_from_one_second_up_to_the_maximum(app_env):
    assert [throttle.lockout_seconds(n, 5) for n in range(1, 10)] == [0, 0, 0, 0, 1, 2, 4, 8, 16]
    assert throttle.lockout_seconds(15, 5) == 900 and throttle.lockout_seconds(10_000, 5) == 900


def test_after_five_failures_even_the_right_password_waits_and_is_told_so_in_chinese(client):
    make_user(Role.editor, "ed")
    answers = [token(client, "ed", "wrong password") for _ in range(5)]
    assert [r.status_code for r in answers] == [401] * 5
    assert "Retry-After" not in answers[3].headers and answers[4].headers["Retry-After"] == "1"
    r = token(client, "ed")
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    assert r.json()["detail"] == "登录失败次数过多，请 1 秒后再试"
    time.sleep(1.1)
    assert token(client, "ed", "wrong again").headers["Retry-After"] == "2"  # the sixth failure: twice as long
    time.sleep(2.1)
    assert token(client, "ed").status_code == 200


def test_a_success_clears_the_accounts_count(client):
    make_user(Role.editor, "ed")
    for _ in range(4):
        assert token(client, "ed", "wrong password").status_code == 401
    assert token(client, "ed").status_code == 200
    for _ in range(4):
        assert token(client, "ed", "wrong password").status_code == 401
    assert token(client, "ed").status_code == 200


def test_unknown_and_known_names_lock_out_alike(client):
    make_user(Role.editor, "ed")
    for name in ("ed", "nobody"):
        for _ in range(5):
            token(client, name, "wrong password")
        assert token(client, name, PASSWORD).status_code == 429


def test_one_address_guessing_many_accounts_is_locked_out(client, monkeypatch):
    use_settings(monkeypatch, SIGNIN_ADDRESS_FAILURES="6")
    make_user(Role.editor, "ed")
    for n in range(6):
        assert token(client, f"guess-{n}", "wrong password").status_code == 401
    r = token(client, "ed")  # another account, from the same address
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1


def test_the_lockout_is_shared_through_redis(client):
    make_user(Role.editor, "ed")
    for _ in range(5):
        token(client, "ed", "wrong password")
    r = get_redis()
    assert r.pttl("signin:lock:account:ed") > 0 and r.get("signin:count:account:ed") == "5"


def test_with_redis_gone_sign_in_works_and_guessing_is_still_limited(client, monkeypatch):
    make_user(Role.editor, "ed")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    clear_caches()
    assert token(client, "ed").status_code == 200
    for _ in range(5):
        assert token(client, "ed", "wrong password").status_code == 401
    r = token(client, "ed")
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
