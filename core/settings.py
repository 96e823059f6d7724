"""Every setting comes from the environment; the README's configuration table lists them all."""
from __future__ import annotations

import ipaddress
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from wechat.template_fields import Template

ROOT = Path(__file__).resolve().parent.parent
LOCAL_BASE_URL = "http://127.0.0.1:8000"  # PUBLIC_BASE_URL's default: links that reach this machine only


class UnreachableLinks(RuntimeError):
    """Against the real WeChat API, followers' links would point at an address their phones cannot reach."""


def is_loopback_host(host: str | None) -> bool:
    """localhost, 127.x, ::1, or an address that means "every interface" (0.0.0.0, ::)."""
    if not host or host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


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
    figures_cache_seconds: int = Field(default=60, ge=0)  # dashboard and report figures kept this long (0: never)
    password_min_length: int = Field(default=10, ge=8, le=128)
    # sign-in throttling (staff.throttle): failures allowed before a lockout, per account and per client
    # address; each further failure doubles the lockout from 1 s up to the maximum
    signin_account_failures: int = Field(default=5, ge=1)
    signin_address_failures: int = Field(default=20, ge=1)
    signin_max_lockout_seconds: int = Field(default=900, ge=1)
    public_base_url: str = LOCAL_BASE_URL
    log_level: str = "INFO"
    bot_dialog_ttl: int = Field(default=600, gt=0)  # seconds a chat dialog or numbered choice waits for a reply
    bot_history_size: int = Field(default=20, gt=0)  # conversation turns kept per follower for staff
    search_refresh_seconds: float = Field(default=1.0, gt=0)  # how often a process checks for changed content
    # the chat's reply to a question (bot/answering.py; bench/answers.py measures the trade-offs)
    answer_confidence: float = Field(default=0.95, gt=0, le=1)  # one answer when the best is at least this likely
    answer_close_margin: float = Field(default=0.1, ge=0, le=1)  # others this close to the best: a list instead
    answer_list_confidence: float = Field(default=0.1, ge=0, le=1)  # a list when its entries together are this likely
    answer_list_floor: float = Field(default=0.02, ge=0, le=1)  # a candidate is listed when at least this likely
    # push campaigns (push/): channel defaults, pacing and the delivery engine's knobs
    push_template_id: str = "POLICY_NOTICE_TPL"  # the template message campaigns use unless they name one
    # that template as WeChat's template list gives it: its title and its content, which names the typed
    # keys (thing1, date3, ...) in the order WeChat shows them
    push_template_title: str = "政策推送通知"
    push_template_content: str = ("政策名称：{{thing1.DATA}}\n发文单位：{{thing2.DATA}}\n发布日期：{{date3.DATA}}\n"
                                  "内容摘要：{{thing4.DATA}}")
    # template key -> campaign value (title, summary, issuer, doc_number, date, or literal text)
    push_template_fields: dict[str, str] = {"thing1": "title", "thing2": "issuer", "date3": "date",
                                            "thing4": "summary"}
    push_notice_issuer: str = "市人民政府办公室"  # the issuer a notice campaign's message names
    # survey invitations and reminders (surveys/invitations.py): their template, keys as push_template_fields
    # (values: title, issuer, deadline, summary), and the channel (template, or custom: within 48 h only)
    survey_template_id: str = "SURVEY_TPL"
    survey_template_title: str = "问卷调查邀请"
    survey_template_content: str = "调查名称：{{thing1.DATA}}\n发起单位：{{thing2.DATA}}\n截止时间：{{time3.DATA}}"
    survey_template_fields: dict[str, str] = {"thing1": "title", "thing2": "issuer", "time3": "deadline"}
    survey_channel: Literal["template", "custom"] = "template"
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
    # staff imports (.xlsx, .xls, .csv, .json): limits checked before a file is parsed, and the reader's own
    import_max_mb: float = Field(default=50, gt=0)  # an upload's size
    import_max_zip_members: int = Field(default=500, ge=10)  # parts in an .xlsx (Excel writes about 10)
    import_max_part_mb: float = Field(default=200, gt=0)  # one part's size once unzipped
    import_max_compression_ratio: float = Field(default=100, gt=1)  # unzipped / zipped, parts over 1 MB
    import_max_columns: int = Field(default=200, ge=1)  # declared sheet width
    import_max_rows_enterprises: int = Field(default=200_000, ge=1)  # data rows an import may have
    import_max_rows_faq: int = Field(default=20_000, ge=1)
    import_max_rows_policies: int = Field(default=10_000, ge=1)
    import_reader_memory_mb: int = Field(default=768, ge=128)  # address space of the process that reads a sheet
    import_reader_seconds: int = Field(default=60, ge=1)  # time it may take to open the sheet
    import_report_errors: int = Field(default=100, ge=0)  # errors listed in a report (all are counted)
    import_bad_rows_hours: float = Field(default=24, gt=0)  # how long a report's bad-rows .xlsx can be fetched
    import_stale_seconds: int = Field(default=120, ge=2)  # an import job nobody advanced this long runs again

    @field_validator("wechat_aes_key")
    @classmethod
    def _aes_key_length(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        if len(v) != 43:
            raise ValueError("WECHAT_AES_KEY (EncodingAESKey) must be 43 characters")
        return v

    @field_validator("public_base_url")
    @classmethod
    def _public_base_url(cls, v: str) -> str:
        parts = urlsplit(v.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("PUBLIC_BASE_URL must be an http(s) address, e.g. https://wx.example.gov.cn")
        return v.strip()

    @field_validator("wechat_api_base")
    @classmethod
    def _api_base_slash(cls, v: str) -> str:
        return v if v.endswith("/") else v + "/"

    @model_validator(mode="after")
    def _template_keys(self) -> Settings:
        """Every key the template shows gets a value and no value goes to a key it lacks: WeChat refuses
        a missing value (47003) and would not show one under another key."""
        for prefix in ("push", "survey"):
            template = Template.parse(getattr(self, f"{prefix}_template_title"),
                                      getattr(self, f"{prefix}_template_content"))
            fields = getattr(self, f"{prefix}_template_fields")
            keys = {k.name for k in template.keys if k.kind != "const"}
            unknown, missing = sorted(set(fields) - keys), sorted(keys - set(fields))
            if unknown or missing:
                name = prefix.upper()
                raise ValueError(f"{name}_TEMPLATE_FIELDS must map exactly the keys of {name}_TEMPLATE_CONTENT "
                                 f"({', '.join(sorted(keys))}): unknown {unknown}, missing {missing}")
        return self

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
    def uses_real_wechat(self) -> bool:
        host = urlsplit(self.wechat_api_base).hostname or ""
        return host == "weixin.qq.com" or host.endswith(".weixin.qq.com")

    def check_public_base_url(self) -> None:
        """Refuse (UnreachableLinks) an unset or loopback PUBLIC_BASE_URL when talking to the real WeChat
        API: every answer and push would send followers links to this machine's own loopback."""
        if not self.uses_real_wechat:
            return
        if "public_base_url" not in self.model_fields_set:
            raise UnreachableLinks(
                "PUBLIC_BASE_URL is not set, and WECHAT_API_BASE is the real WeChat API: followers' links "
                f"would point at {LOCAL_BASE_URL}. Set PUBLIC_BASE_URL to the https address followers' phones "
                "reach this server at, e.g. PUBLIC_BASE_URL=https://wx.example.gov.cn")
        if is_loopback_host(urlsplit(self.public_base_url).hostname):
            raise UnreachableLinks(
                f"PUBLIC_BASE_URL is {self.public_base_url}, a loopback address, and WECHAT_API_BASE is the real "
                "WeChat API: followers' phones cannot open such links. Set PUBLIC_BASE_URL to the https address "
                "they reach this server at, e.g. PUBLIC_BASE_URL=https://wx.example.gov.cn")

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'policypush.db'}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
