"""engine.desk.user_admin: only user administrators administer users; the rules that keep one; the log."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, select

from engine import users
from engine.desk import user_admin
from engine.errors import Forbidden, InvalidInput
from engine.process import definitions, runtime
from engine.store import schema
from engine.store.db import Database
from engine.store.models import HistoryEvent, TaskRecord, User, UserAdminLog
from tests.support.flows import Flow

DIAGRAMS = Path(__file__).parent / "diagrams"
GOOD = "Secret-2026!"
FIXED = {"resolved": True, "method": "remote", "actions": "远程重启服务"}


def _make(db: Database, username: str, *groups: str) -> users.Actor:
    with db.transaction() as session:
        users.create_user(session, username=username, password="pw", groups=list(groups))
        return users.actor(session, username)


@pytest.fixture
def admin(sqlite_db: Database) -> users.Actor:
    return _make(sqlite_db, "root", "user_admin")


def _log(db: Database) -> list[tuple[str, str, str, dict]]:
    with db.transaction() as session:
        return [(e.actor, e.action, e.username, e.detail)
                for e in session.scalars(select(UserAdminLog).order_by(UserAdminLog.id))]


def test_only_user_administrators_administer_users_whoever_calls_the_engine(sqlite_db: Database,
                                                                            admin: users.Actor) -> None:
    _make(sqlite_db, "eng", "engineer")
    outsiders = [_make(sqlite_db, "owner", "process_owner"), _make(sqlite_db, "boss", "service_manager"),
                 _make(sqlite_db, "watcher", "auditor", "user_admin")]  # an auditor never changes anything
    calls = {
        "create": lambda s, a: user_admin.create_user(s, actor=a, username="new", password=GOOD, groups=["engineer"]),
        "change": lambda s, a: user_admin.change_user(s, actor=a, username="eng", display_name="x", email=None,
                                                      groups=["engineer", "user_admin"]),
        "reset": lambda s, a: user_admin.reset_password(s, actor=a, username="eng", password=GOOD),
        "deactivate": lambda s, a: user_admin.deactivate_user(s, actor=a, username="eng"),
        "reactivate": lambda s, a: user_admin.reactivate_user(s, actor=a, username="eng"),
    }
    for outsider in outsiders:
        for call in calls.values():
            with pytest.raises(Forbidden, match="may not administer users"), sqlite_db.transaction() as session:
                call(session, outsider)
    with sqlite_db.transaction() as session:
        assert users.check_password(users.get_user(session, "eng"), "pw")
        assert [g.id for g in users.get_user(session, "eng").groups] == ["engineer"]
        assert session.scalars(select(User).where(User.username == "new")).first() is None
    assert _log(sqlite_db) == []


def test_an_administrator_creates_a_user_who_signs_in_and_it_is_logged_without_the_password(
        sqlite_db: Database, admin: users.Actor) -> None:
    with sqlite_db.transaction() as session:
        user_admin.create_user(session, actor=admin, username="li.wei", password=GOOD, groups=["engineer", "vendor"],
                               display_name="李伟", email="li.wei@example.com")
    with sqlite_db.transaction() as session:
        signed_in = users.authenticate(session, username="li.wei", password=GOOD)
        assert signed_in is not None and signed_in.display_name == "李伟"
    assert _log(sqlite_db) == [("root", "user_created", "li.wei", {
        "after": {"display_name": "李伟", "email": "li.wei@example.com", "groups": ["engineer", "vendor"]}})]
    assert GOOD not in repr(_log(sqlite_db))


@pytest.mark.parametrize("username, groups, password, email, reason", [
    ("root", ["engineer"], GOOD, None, "username_taken"),
    ("a b", ["engineer"], GOOD, None, "username_invalid"),
    ("new", ["engineer", "wizards"], GOOD, None, "groups_unknown"),
    ("new", [], GOOD, None, "groups_empty"),
    ("new", ["engineer"], "", None, "password_empty"),
    ("new", ["engineer"], "Ab-1", None, "password_short"),
    ("new", ["engineer"], "abcdefghijkl", None, "password_one_kind"),
    ("new", ["engineer"], "new-user-2026", None, "password_has_username"),
    ("new", ["engineer"], GOOD, "not-an-address", "email_invalid"),
])
def test_creating_refuses_clearly(sqlite_db: Database, admin: users.Actor, username: str, groups: list[str],
                                  password: str, email: str | None, reason: str) -> None:
    with pytest.raises(InvalidInput) as refused, sqlite_db.transaction() as session:
        user_admin.create_user(session, actor=admin, username=username, password=password, groups=groups,
                               email=email)
    assert refused.value.reason == reason and refused.value.field_errors
    assert _log(sqlite_db) == []


def test_changes_are_logged_with_before_and_after(sqlite_db: Database, admin: users.Actor) -> None:
    _make(sqlite_db, "eng", "engineer")
    with sqlite_db.transaction() as session:
        user_admin.change_user(session, actor=admin, username="eng", display_name="工程师甲", email="e@x.cn",
                               groups=["engineer", "tech_lead"])
        user_admin.change_user(session, actor=admin, username="eng", display_name="工程师甲", email="e@x.cn",
                               groups=["engineer", "tech_lead"])  # nothing changes: nothing logged
    with sqlite_db.transaction() as session:
        assert users.actor(session, "eng").groups == {"engineer", "tech_lead"}
    assert _log(sqlite_db) == [("root", "user_changed", "eng", {
        "before": {"display_name": "eng", "email": None, "groups": ["engineer"]},
        "after": {"display_name": "工程师甲", "email": "e@x.cn", "groups": ["engineer", "tech_lead"]}})]


def test_a_password_reset_works_and_the_log_holds_no_password(sqlite_db: Database, admin: users.Actor) -> None:
    _make(sqlite_db, "eng", "engineer")
    with sqlite_db.transaction() as session:
        user_admin.reset_password(session, actor=admin, username="eng", password=GOOD)
    with sqlite_db.transaction() as session:
        assert users.authenticate(session, username="eng", password=GOOD) is not None
        assert users.authenticate(session, username="eng", password="pw") is None
    assert _log(sqlite_db) == [("root", "password_reset", "eng", {})]


def test_nobody_deactivates_themselves_and_the_last_administrator_stays(sqlite_db: Database,
                                                                        admin: users.Actor) -> None:
    with pytest.raises(InvalidInput) as refused, sqlite_db.transaction() as session:
        user_admin.deactivate_user(session, actor=admin, username="root")
    assert refused.value.reason == "deactivate_self"
    for own_groups in (["engineer"], ["user_admin", "process_owner"]):  # neither giving up nor granting oneself
        with pytest.raises(InvalidInput) as refused, sqlite_db.transaction() as session:
            user_admin.change_user(session, actor=admin, username="root", display_name="root", email=None,
                                   groups=own_groups)
        assert refused.value.reason == "own_groups"
    with sqlite_db.transaction() as session:  # one's own name and address are fine
        user_admin.change_user(session, actor=admin, username="root", display_name="管理员", email=None,
                               groups=["user_admin"])
    _make(sqlite_db, "root2", "user_admin")
    with sqlite_db.transaction() as session:  # another administrator remains: allowed
        user_admin.change_user(session, actor=admin, username="root2", display_name="root2", email=None,
                               groups=["engineer"])
    # root2 acting on what it was a moment ago (a request begun before the change): root is the last one.
    stale = users.Actor("root2", frozenset({"user_admin"}))
    with pytest.raises(InvalidInput) as refused, sqlite_db.transaction() as session:
        user_admin.deactivate_user(session, actor=stale, username="root")
    assert refused.value.reason == "last_user_admin"
    with pytest.raises(InvalidInput) as refused, sqlite_db.transaction() as session:
        user_admin.change_user(session, actor=stale, username="root", display_name="root", email=None,
                               groups=["engineer"])
    assert refused.value.reason == "last_user_admin"
    with sqlite_db.transaction() as session:
        assert users.get_user(session, "root").is_active
        assert [g.id for g in users.get_user(session, "root").groups] == ["user_admin"]


def test_a_deactivated_user_cannot_sign_in_until_reactivated(sqlite_db: Database, admin: users.Actor) -> None:
    _make(sqlite_db, "eng", "engineer")
    with sqlite_db.transaction() as session:
        user_admin.deactivate_user(session, actor=admin, username="eng")
    with sqlite_db.transaction() as session:
        assert users.authenticate(session, username="eng", password="pw") is None
    with pytest.raises(InvalidInput) as refused, sqlite_db.transaction() as session:
        user_admin.deactivate_user(session, actor=admin, username="eng")
    assert refused.value.reason == "user_already_inactive"
    with sqlite_db.transaction() as session:
        user_admin.reactivate_user(session, actor=admin, username="eng")
    with sqlite_db.transaction() as session:
        assert users.authenticate(session, username="eng", password="pw") is not None
    assert [(action, who) for _, action, who, _ in _log(sqlite_db)] == [("user_deactivated", "eng"),
                                                                         ("user_reactivated", "eng")]


def test_deactivating_gives_claimed_tasks_back_to_their_groups_in_the_history(db: Database) -> None:
    admin = _make(db, "root", "user_admin")
    for name, group in (("req", "requester"), ("eng", "engineer")):
        _make(db, name, group)
    with db.transaction() as session:
        definitions.deploy(session, [definitions.SourceFile("mini.bpmn", (DIAGRAMS / "mini.bpmn").read_bytes())])
    claimed = Flow(db, "mini", user="req")
    with db.transaction() as session:
        runtime.claim_task(session, task_id=claimed.task_id("remote_fix"), actor=users.actor(session, "eng"))
    answered = Flow(db, "mini", user="eng")  # eng raised this one: the satisfaction call is eng's own
    answered.complete("remote_fix", FIXED, "eng")
    own_call = answered.task_id("satisfaction")
    with db.transaction() as session:
        done = user_admin.deactivate_user(session, actor=admin, username="eng")
    assert done == user_admin.Deactivation(released=[claimed.task_id("remote_fix")], kept=[own_call])
    with db.transaction() as session:
        assert session.get(TaskRecord, claimed.task_id("remote_fix")).assignee is None
        released = session.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == claimed.id,
                                                              HistoryEvent.kind == "task_released")).one()
    assert (released.actor, released.payload) == ("root", {"previous_assignee": "eng", "reason": "user_deactivated"})
    assert _log(db)[-1] == ("root", "user_deactivated", "eng", {"released_tasks": [claimed.task_id("remote_fix")],
                                                                "kept_tasks": [own_call]})


def test_the_log_is_for_user_administrators_and_auditors(sqlite_db: Database, admin: users.Actor) -> None:
    with sqlite_db.transaction() as session:
        user_admin.create_user(session, actor=admin, username="x1", password=GOOD, groups=["engineer"])
        user_admin.create_user(session, actor=admin, username="x2", password=GOOD, groups=["engineer"])
    with sqlite_db.transaction() as session:
        for reader in (admin, users.Actor("a", frozenset({"auditor"}))):
            assert [e.username for e in user_admin.log_entries(session, actor=reader)] == ["x2", "x1"]
        newest = user_admin.log_entries(session, actor=admin)[0]
        assert [e.username for e in user_admin.log_entries(session, actor=admin, before_id=newest.id)] == ["x1"]
        assert [e.username for e in user_admin.log_entries(session, actor=admin, username="x1")] == ["x1"]
        with pytest.raises(Forbidden, match="user administration log"):
            user_admin.log_entries(session, actor=users.Actor("o", frozenset({"process_owner"})))


def test_the_log_table_migrates_up_and_down(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    schema.upgrade(url, "20261123_0008")
    engine = create_engine(url)
    try:
        assert "user_admin_log" not in inspect(engine).get_table_names()
        schema.upgrade(url, "20261123_0009")
        assert {c["name"] for c in inspect(engine).get_columns("user_admin_log")} == {
            "id", "actor", "action", "username", "detail", "at"}
        schema.downgrade(url, "20261123_0008")
        assert "user_admin_log" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()
