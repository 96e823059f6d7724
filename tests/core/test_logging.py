import json
import logging

from core.logging import JSONFormatter, mask


def test_mask_keeps_only_the_ends():
    assert mask("oAbCdEfGhIjKlMnOp") == "oAb***nOp"
    assert mask("short") == "*****"


def test_log_lines_are_json_with_personal_fields_masked():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "sent to %s", ("someone",), None)
    record.openid, record.phone, record.campaign = "oAbCdEfGhIjKlMnOp", "13812345678", 7
    entry = json.loads(JSONFormatter().format(record))
    assert entry["msg"] == "sent to someone" and entry["campaign"] == 7
    assert entry["openid"] == "oAb***nOp" and entry["phone"] == "138***678"
