"""Structured (one JSON object a line) logs, with follower ids and personal data masked.

Every line passes through `core.masking`: known personal fields by name, and the message, the extras and
the traceback by pattern (phones, ID-card and credit-code numbers, openids), since an exception's text
may quote what a follower typed.
"""
from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime

from core.masking import mask_credit_code, mask_data, mask_name, mask_openid, mask_phone, mask_text

MASKED_KEYS: dict[str, Callable[[str], str]] = {
    "openid": mask_openid, "touser": mask_openid, "phone": mask_phone, "contact_phone": mask_phone,
    "contact": mask_name, "contact_name": mask_name, "credit_code": mask_credit_code}
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
# uvicorn gives its loggers their own plain handlers: route them through the masking one instead
_OWN_HANDLERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                 "level": record.levelname, "logger": record.name, "msg": mask_text(record.getMessage())}
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                masker = MASKED_KEYS.get(key)
                entry[key] = masker(str(value)) if masker and value else mask_data(value)
        if record.exc_info:
            entry["exc"] = mask_text(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = mask_text(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=lambda v: mask_text(str(v)))


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in _OWN_HANDLERS:
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
