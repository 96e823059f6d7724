import json
import logging
import logging.config

import pytest
import uvicorn.config
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.logging import JSONFormatter, configure
from subscriptions.models import Enterprise

CODE = "91440300708461136T"
OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"


def test_log_lines_are_json_with_personal_fields_masked():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "sent to %s", ("someone",), None)
    record.openid, record.phone, record.campaign = "oAbCdEfGhIjKlMnOp", "13812345678", 7
    entry = json.loads(JSONFormatter().format(record))
    assert entry["msg"] == "sent to someone" and entry["campaign"] == 7
    assert entry["openid"] == "oAb***nOp" and entry["phone"] == "138****5678"


@pytest.fixture
def logging_state():
    """Put the logging set-up back as it was after a test that configures it."""
    loggers = [logging.getLogger(name) for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access")]
    saved = [(lg, lg.handlers[:], lg.level, lg.propagate) for lg in loggers]
    yield
    for lg, handlers, level, propagate in saved:
        lg.handlers[:], lg.level, lg.propagate = handlers, level, propagate


def test_a_failed_statement_logs_no_bound_values(engine):
    """A 500's traceback: the database error must not quote the contact it was storing."""
    with Session(engine) as session:
        session.add(Enterprise(credit_code=CODE, name="甲公司", contact_name="张三丰", contact_phone="13812345678"))
        session.commit()
        session.add(Enterprise(credit_code=CODE, name="乙公司", contact_name="李四光", contact_phone="13987654321"))
        with pytest.raises(IntegrityError) as caught:
            session.commit()
    record = logging.LogRecord("uvicorn.error", logging.ERROR, __file__, 1, "Exception in ASGI application", (),
                               (caught.type, caught.value, caught.tb))
    line = JSONFormatter().format(record)
    assert "IntegrityError" in line
    for personal in ("李四光", "13987654321", "乙公司", CODE):
        assert personal not in line


def test_server_tracebacks_pass_through_the_masking_formatter(logging_state, capsys):
    """uvicorn sets up its own plain handlers before the app's start-up configures logging."""
    logging.config.dictConfig(uvicorn.config.LOGGING_CONFIG)
    configure("INFO")
    try:
        raise ValueError(f"input_value='13812345678' openid={OPENID} 身份证11010519491231002X")
    except ValueError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "POST",
                                             f"/wechat?openid={OPENID}", "1.1", 200)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [e["logger"] for e in lines] == ["uvicorn.error", "uvicorn.access"]
    text = json.dumps(lines, ensure_ascii=False)
    assert "ValueError" in text and "138****5678" in text
    for personal in ("13812345678", OPENID, "19491231"):
        assert personal not in text
