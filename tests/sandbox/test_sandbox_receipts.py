"""TEMPLATESENDJOBFINISH and MASSSENDJOBFINISH posted to the webhook after sends."""
from __future__ import annotations

import time



def test_template_receipts(make_sandbox, webhook, aes_key):
    sb = make_sandbox(webhook_url=webhook.url, aes_key=aes_key, receipt_delay_ms=0)
    sb.knobs(blocked=["oUserBlocked01"])
    ok = sb.template(touser="oUserOk000001")["msgid"]
    blocked = sb.template(touser="oUserBlocked01")["msgid"]
    first = webhook.wait_for(lambda m: getattr(m, "id", None) == ok)
    assert first.event == "templatesendjobfinish" and first.status == "success"
    assert first.source == "oUserOk000001" and first.target == "gh_policypush"
    assert webhook.wait_for(lambda m: getattr(m, "id", None) == blocked).status == "failed:user block"
    assert webhook.requests[-1]["encrypt_type"] == "aes"
    # a blocked follower never sees the message, but the record says why
    assert sb.client.get("/sandbox/messages", params={"touser": "oUserBlocked01"}).json()[
        "messages"][0]["status"] == "failed:user block"


def test_system_failures_and_receipts_off(make_sandbox, webhook):
    sb = make_sandbox(webhook_url=webhook.url, receipt_delay_ms=0, system_fail_rate=1.0)
    failed = sb.template()["msgid"]
    assert webhook.wait_for(lambda m: getattr(m, "id", None) == failed).status == "failed: system failed"
    webhook.wait_for(lambda m: True)
    assert sb.client.get("/sandbox/stats").json()["receipts"]["sent"] == 1
    sb.knobs(receipts=False)
    sb.template(client_msg_id="q")
    sb.template()
    sb.api("message/mass/sendall", {"filter": {"is_to_all": True}, "msgtype": "text", "text": {"content": "x"}})
    time.sleep(0.3)
    assert len(webhook.received) == 1


def test_mass_receipt_counts(make_sandbox, webhook):
    sb = make_sandbox(webhook_url=webhook.url, receipt_delay_ms=0)
    sb.knobs(blocked=["oUserB0000001"], unfollowed=["oUserU0000001"])
    msg_id = sb.api("message/mass/send", {
        "touser": ["oUserA0000001", "oUserB0000001", "oUserU0000001"], "msgtype": "text",
        "text": {"content": "通知"}})["msg_id"]
    event = webhook.wait_for(lambda m: getattr(m, "event", "") == "masssendjobfinish")
    assert event.id == msg_id and event.status == "send success"
    assert (event.total_count, event.filter_count, event.sent_count, event.error_count) == (3, 2, 1, 1)


def test_receipts_with_a_failing_webhook_are_counted(make_sandbox, webhook):
    sb = make_sandbox(webhook_url=webhook.url, receipt_delay_ms=0)
    webhook.behaviour = "http500"
    sb.template()
    webhook.wait_for(lambda m: True)
    deadline = time.monotonic() + 5
    while sb.client.get("/sandbox/stats").json()["receipts"]["failed"] < 1:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert len(webhook.received) == 1  # receipts are posted once


def test_no_webhook_means_no_receipts(sb):
    assert sb.template()["errcode"] == 0
    assert sb.client.get("/sandbox/stats").json()["receipts"] == {"sent": 0, "failed": 0, "dropped": 0}


def test_receipts_beyond_the_backlog_are_dropped_not_blocking(make_sandbox, webhook, monkeypatch):
    monkeypatch.setattr("sandbox.webhook.RECEIPT_BACKLOG", 1)
    sb = make_sandbox(webhook_url=webhook.url, receipt_delay_ms=5000)
    assert all(sb.template()["errcode"] == 0 for _ in range(12))
    stats = sb.client.get("/sandbox/stats").json()
    assert stats["receipts"]["dropped"] >= 2 and stats["sent"]["template"] == 12
