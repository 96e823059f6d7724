"""The enterprise list's search finds a name by any part of it, on a migrated database: on PostgreSQL through
the name's trigram index for three characters or more, by reading the table for one or two (which have no
trigram), with the same results either way."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from core import migrate
from core.db import make_engine
from subscriptions import service
from subscriptions.schemas import EnterpriseCreate
from tests.subscriptions.enterprise_files import code

NAMES = ["葫芦岛市渤海船舶重工有限公司", "兴城市泳装服饰厂", "绥中县万家镇水果合作社", "Bohai Shipyard 50%_Co",
         "葫芦岛锌业股份有限公司", "建昌县八家子镇农机站"]


@pytest.fixture(params=["planner", "index"])
def searched(request, db_url):
    """A migrated database holding NAMES; `index` makes PostgreSQL answer from an index wherever it can."""
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    with Session(engine) as session:
        for n, name in enumerate(NAMES):
            service.add_enterprise(session=session, enterprise_in=EnterpriseCreate(credit_code=code(n), name=name))
        session.commit()
        if request.param == "index":
            if engine.dialect.name != "postgresql":
                pytest.skip("the trigram index is PostgreSQL's")
            session.execute(text("SET LOCAL enable_seqscan = off"))
            session.execute(text("SET LOCAL enable_indexscan = off"))  # not the walk along the primary key
        yield session
    engine.dispose()


def names(session, q: str) -> list[str]:
    return [e.name for e in service.list_enterprises(session=session, q=q)]


@pytest.mark.parametrize("q", ["船", "泳装", "家镇", "渤海船舶", "有限公司", "锌业股份有限公", "八家子镇农机站",
                               "Shipyard", "50%_", "%", "_", "市"])
def test_any_part_of_a_name_finds_it_and_only_what_holds_it(searched, q):
    assert names(searched, q) == [name for name in NAMES if q in name]


def test_no_match_an_exact_credit_code_and_paging(searched):
    assert names(searched, "船厂") == [] and names(searched, "渤海船厂") == []
    assert names(searched, code(2).lower()) == ["绥中县万家镇水果合作社"]
    first = service.list_enterprises(session=searched, q="有限公司", limit=1)
    assert [e.name for e in first] == [NAMES[0]]
    rest = service.list_enterprises(session=searched, q="有限公司", after_id=first[0].id)
    assert [e.name for e in rest] == [NAMES[4]]


def test_the_name_index_is_used_on_postgresql(searched):
    if searched.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL's plan")
    searched.execute(text("SET LOCAL enable_seqscan = off"))  # six rows: reading them all would be cheaper
    plan = "\n".join(searched.scalars(text(
        "EXPLAIN SELECT id FROM enterprise WHERE name LIKE '%' || :q || '%' ORDER BY id LIMIT 21"), {"q": "渤海船舶"}))
    assert "ix_enterprise_name_trgm" in plan
