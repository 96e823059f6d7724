"""Every setting comes from the environment; the README's configuration table lists them all."""
from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    wechat_appid: str = "wxsandbox00000001"
    wechat_secret: str = "sandbox-secret"
    wechat_token: str = "policypush"
    wechat_aes_key: str | None = None
    wechat_api_base: str = "https://api.weixin.qq.com/cgi-bin/"
    wechat_timeout: float = 5.0
    wechat_reply_budget: float = 4.0
    wechat_max_clock_skew: int = 300

    database_url: str | None = None
    redis_url: str | None = None
    # every Redis call gives up after these (seconds): a frozen Redis must not hold a webhook reply past
    # WeChat's 5 s
    redis_socket_timeout: float = Field(default=0.5, gt=0)
    redis_connect_timeout: float = Field(default=0.5, gt=0)
    data_dir: Path = ROOT / "data"

    secret_key: str | None = Field(default=None, min_length=32)
    token_ttl_minutes: int = 12 * 60
    console_idle_minutes: int = Field(default=30, gt=0)  # a console session unused this long is signed out
    public_base_url: str = "http://127.0.0.1:8000"
    log_level: str = "INFO"
    bot_dialog_ttl: int = Field(default=600, gt=0)  # seconds a chat dialog or numbered choice waits for a reply
    bot_history_size: int = Field(default=20, gt=0)  # conversation turns kept per follower for staff
    search_refresh_seconds: float = Field(default=1.0, gt=0)  # how often a process checks for changed content
    # push campaigns (push/): channel defaults, pacing and the delivery engine's knobs
    push_template_id: str = "POLICY_NOTICE_TPL"  # the template message campaigns use unless they name one
    # template field -> campaign value (title, summary, issuer, doc_number, date, remark, or literal text)
    push_template_fields: dict[str, str] = {"first": "title", "keyword1": "issuer", "keyword2": "date",
                                            "keyword3": "summary", "remark": "remark"}
    push_rate: float = Field(default=500.0, gt=0)  # messages per second, all workers together (Redis)
    push_quiet_hours: str = "22:00-08:00"  # local time (push_timezone) in which nothing is sent; "" for none
    push_timezone: str = "Asia/Shanghai"
    push_batch_size: int = Field(default=500, ge=1, le=5000)  # deliveries one task claims and sends
    push_parallel_batches: int = Field(default=4, ge=1)  # batch chains per running campaign (all workers)
    push_send_threads: int = Field(default=16, ge=1, le=256)  # concurrent WeChat calls in one batch task
    push_lease_seconds: int = Field(default=60, ge=5)  # a claimed delivery not renewed this long is re-sent
    push_max_attempts: int = Field(default=6, ge=1)  # sends of one delivery before it fails for good
    push_retry_seconds: float = Field(default=0.2, gt=0)  # first back-off after -1 / network errors
    push_tick_seconds: float = Field(default=10.0, gt=0)  # beat: start due campaigns, resume, re-dispatch
    push_require_test_send: bool = True  # submit only after a test send of the current content

    @field_validator("wechat_aes_key")
    @classmethod
    def _aes_key_length(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        if len(v) != 43:
            raise ValueError("WECHAT_AES_KEY (EncodingAESKey) must be 43 characters")
        return v

    @field_validator("wechat_api_base")
    @classmethod
    def _api_base_slash(cls, v: str) -> str:
        return v if v.endswith("/") else v + "/"

    @property
    def signing_key(self) -> str:
        """SECRET_KEY, or one made once and kept under the data directory (fine on one machine)."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if not path.exists():  # written aside and linked into place, so no process reads half a key
            self.data_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}")
            tmp.write_text(secrets.token_urlsafe(48))
            tmp.chmod(0o600)
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
            tmp.unlink()
        return path.read_text().strip()

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'policypush.db'}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
