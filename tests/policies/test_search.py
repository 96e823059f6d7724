import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core.db import session_scope
from policies import content, faq, service
from policies.models import PolicyStatus
from policies.schemas import FaqCreate, PolicyCreate, PolicyUpdate
from policies.search import Candidate, find_answers
from policies.seed import seed_demo

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def library(app_env, fresh_search, monkeypatch):
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://wx.example.gov.cn/")
    monkeypatch.setenv("SEARCH_REFRESH_SECONDS", "0.1")
    from core.settings import get_settings

    get_settings.cache_clear()
    with session_scope() as session:
        list(seed_demo(session=session))
    yield app_env
    get_settings.cache_clear()


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_the_seeded_notice_answers_a_question_about_the_work_plan(library):
    with session_scope() as session:
        notice = service.get_by_number(session=session, doc_number="葫政办公开〔2024〕10号")
    [best, *_] = find_answers("葫芦岛市2024年政务公开工作要点有哪些", k=3)
    assert isinstance(best, Candidate) and (best.kind, best.id) == ("policy", notice.id)
    assert best.title == "关于印发葫芦岛市2024年政务公开工作要点的通知"
    assert best.url == f"https://wx.example.gov.cn/p/{notice.id}"
    assert best.answer.startswith("工作要点共六个方面23项任务") and len(best.answer) <= 200
    assert (best.in_force, best.status_note) == (True, "") and 0 <= best.confidence <= 1


@pytest.mark.parametrize("question, external_id", [
    ("领取失业保险金的条件?", "kb003"), ("失业保险金的标准是多少?", "kb004")])
def test_faq_questions_find_their_answers(library, question, external_id):
    with session_scope() as session:
        entry = faq.get_by_external_id(session=session, external_id=external_id)
    best = find_answers(question)[0]
    assert (best.kind, best.id, best.title, best.answer) == ("faq", entry.id, entry.question, entry.answer)
    assert best.url == f"https://wx.example.gov.cn/faq/{entry.id}" and best.in_force


def test_answers_not_in_force_say_why(library):
    with session_scope() as session:
        new = service.create_policy(session=session, policy_in=PolicyCreate(title="高新技术企业认定奖励办法（2025年修订）",
                                                                            doc_number="N2"))
        old = service.create_policy(session=session, policy_in=PolicyCreate(title="高新技术企业认定奖励办法",
                                                                            doc_number="N1"))
        service.update_policy(session=session, policy=old, policy_in=PolicyUpdate(superseded_by_id=new.id))
        repealed = service.create_policy(session=session, policy_in=PolicyCreate(
            title="老旧小区加装电梯补助办法", doc_number="N3", status=PolicyStatus.repealed))
        faq.create(session=session, entry_in=FaqCreate(question="加装电梯补助多少钱", answer="每部补助20万元。",
                                                       policy_number="N3"))
        old_id, repealed_title = old.id, repealed.title
    assert wait_for(lambda: any(c.title == "加装电梯补助多少钱" for c in find_answers("加装电梯补助多少钱")))
    entry = next(c for c in find_answers("加装电梯补助多少钱") if c.kind == "faq")
    assert (entry.in_force, entry.status_note) == (False, f"相关政策《{repealed_title}》已废止")
    revised = next(c for c in find_answers("高新技术企业认定奖励办法", k=5) if c.id == old_id and c.kind == "policy")
    assert (revised.in_force, revised.status_note) == (False, "该政策已被《高新技术企业认定奖励办法（2025年修订）》（N2）修订")


def test_edits_reach_the_index_without_restart_and_rollbacks_do_not_bump(library):
    before = find_answers("养犬登记证怎么办理")
    assert all(c.title != "养犬登记证怎么办理" for c in before)
    version = content.current_version()
    with pytest.raises(RuntimeError):
        with session_scope() as session:
            faq.create(session=session, entry_in=FaqCreate(question="不会保存的问题", answer="答"))
            raise RuntimeError("rolled back")
    assert content.current_version() == version
    with session_scope() as session:
        faq.add_from_answer(session=session, question="养犬登记证怎么办理", answer="到公安机关办理养犬登记。")
    assert content.current_version() == version + 1
    assert wait_for(lambda: find_answers("养犬登记证怎么办理")[0].title == "养犬登记证怎么办理")


def test_searches_keep_answering_from_the_old_index_during_a_rebuild(library):
    find_answers("失业保险")  # built
    with session_scope() as session:
        faq.add_from_answer(session=session, question="电动自行车上牌去哪里", answer="到车管所。")
    errors, results = [], []

    def ask():
        try:
            for _ in range(30):
                t = time.perf_counter()
                found = find_answers("电动自行车上牌去哪里")
                results.append((time.perf_counter() - t, found))
                time.sleep(0.01)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert wait_for(lambda: find_answers("电动自行车上牌去哪里")[0].title == "电动自行车上牌去哪里")


CHANGE = """
from core.db import session_scope
from policies import faq
with session_scope() as session:
    faq.add_from_answer(session=session, question="公共充电桩建设有补贴吗", answer="另一进程写入的答复。")
"""


def test_a_change_made_by_another_process_reaches_this_one(library):
    assert all(c.answer != "另一进程写入的答复。" for c in find_answers("公共充电桩建设有补贴吗"))  # index built
    done = subprocess.run([sys.executable, "-c", CHANGE], cwd=ROOT, env=library, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert wait_for(lambda: any(c.answer == "另一进程写入的答复。" for c in find_answers("公共充电桩建设有补贴吗")))


@pytest.fixture
def slow_checks(app_env, fresh_search, monkeypatch):
    """An empty library whose processes check Redis for changes only once a minute."""
    monkeypatch.setenv("SEARCH_REFRESH_SECONDS", "60")
    from core.settings import get_settings

    get_settings.cache_clear()
    yield app_env
    get_settings.cache_clear()


def test_a_question_right_after_an_import_at_start_is_not_answered_from_the_empty_index(slow_checks):
    assert find_answers("公共充电桩建设有补贴吗") == []  # the server warmed up before the import
    done = subprocess.run([sys.executable, "-c", CHANGE], cwd=ROOT, env=slow_checks, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    [best, *_] = find_answers("公共充电桩建设有补贴吗")  # at once, not a minute later
    assert best.answer == "另一进程写入的答复。"


def test_a_change_is_answered_from_at_once_in_the_process_that_committed_it(slow_checks):
    with session_scope() as session:
        faq.add_from_answer(session=session, question="失业保险金怎么领", answer="到人社窗口申领。")
    assert find_answers("失业保险金怎么领")[0].answer == "到人社窗口申领。"  # index built
    with session_scope() as session:
        faq.add_from_answer(session=session, question="养犬登记证怎么办理", answer="到公安机关办理养犬登记。")
    assert find_answers("养犬登记证怎么办理")[0].answer == "到公安机关办理养犬登记。"  # no waiting, no retry


def test_a_change_from_another_process_is_answered_from_within_the_refresh_interval(library):
    assert all(c.answer != "另一进程写入的答复。" for c in find_answers("公共充电桩建设有补贴吗"))  # index built
    done = subprocess.run([sys.executable, "-c", CHANGE], cwd=ROOT, env=library, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    time.sleep(0.1)  # SEARCH_REFRESH_SECONDS
    assert find_answers("公共充电桩建设有补贴吗")[0].answer == "另一进程写入的答复。"  # the first search after it
