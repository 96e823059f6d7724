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
    data_dir: Path = ROOT / "data"

    secret_key: str | None = Field(default=None, min_length=32)
    token_ttl_minutes: int = 12 * 60
    public_base_url: str = "http://127.0.0.1:8000"
    log_level: str = "INFO"

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
