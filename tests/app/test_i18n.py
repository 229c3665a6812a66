"""Translations: every UI string has zh_CN text, the catalogs match the code, and zh_CN pages show no
stray English (user data and ids are marked translate="no" and do not count)."""
from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

from tests.app.conftest import open_task, start_request

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "app" / "translations"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
# Words that are names, not English: the product, the sample request's system, acronyms the labels use.
NOT_ENGLISH = {"opsflow", "HIS", "SLA", "MAS"}
ROMAN = re.compile(r"[IVX]+")  # fault levels I-IV


def catalog(locale: str):  # type: ignore[no-untyped-def]
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle, locale=locale)


def source_messages() -> set[str]:
    method_map = [("app/**.py", "python"), ("app/templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2)}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(ROOT), method_map, keywords=keywords):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_zh_cn_message_is_translated() -> None:
    untranslated = [m.id for m in catalog("zh_CN") if m.id and (
        m.fuzzy or not (m.string if isinstance(m.string, str) else all(m.string)))]
    assert untranslated == []


def test_translations_keep_their_placeholders() -> None:
    for message in catalog("zh_CN"):
        if not message.id:
            continue
        source = message.id if isinstance(message.id, str) else message.id[0]
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        for text in strings:
            assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(source)), message.id


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_the_catalogs_hold_exactly_the_strings_of_the_code(locale: str) -> None:
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog(locale) if m.id}
    code = source_messages()
    assert sorted(code - ids) == [], "run pybabel extract/update (see babel.cfg)"
    assert sorted(ids - code) == [], "obsolete messages in the catalog"


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_the_compiled_catalogs_are_current(locale: str) -> None:
    """scripts/install compiles the .po files; a stale .mo would show old or missing text."""
    path = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo"
    assert path.exists(), "run scripts/install (it compiles app/translations)"
    with open(path, "rb") as handle:
        compiled = {_key(m.id): _key(m.string) for m in read_mo(handle) if m.id}
    wanted = {_key(m.id): _key(m.string) for m in catalog(locale) if m.id and m.string and (
        isinstance(m.string, str) or all(m.string))}
    assert {k: v for k, v in wanted.items() if compiled.get(k) != v} == {}, "run scripts/install"


def _key(value: str | list[str] | tuple[str, ...]) -> str | tuple[str, ...]:
    return value if isinstance(value, str) else tuple(value)


class _Text(HTMLParser):
    """Visible text, skipping scripts, styles, and elements marked translate="no" or lang="en"."""

    SKIP = {"script", "style", "template", "code"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            return
        attributes = dict(attrs)
        skip = tag in self.SKIP or attributes.get("translate") == "no" or attributes.get("lang") == "en"
        self.stack.append(skip or (bool(self.stack) and self.stack[-1]))

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not (self.stack and self.stack[-1]):
            self.parts.append(data)


def english_words(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    text = " ".join(parser.parts)
    return sorted({w for w in re.findall(r"[A-Za-z]{2,}", text) if w not in NOT_ENGLISH and not ROMAN.fullmatch(w)})


def test_key_pages_in_zh_cn_have_no_untranslated_english(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    requester = client_for("requester")
    instance_id = start_request(requester)
    requester.post(f"/portal/requests/{instance_id}/chase")
    desk = client_for("service_desk")
    accept = open_task(app, instance_id, "accept")
    desk.post(f"/tasks/{accept}", data={"request_confirmed": "true", "notes": "已受理"})
    classify = open_task(app, instance_id, "classify")
    pages = {
        "login": app.test_client().get("/login"),
        "portal": requester.get("/portal/"),
        "new request": requester.get("/portal/new"),
        "new request with errors": requester.post("/portal/new", data={"_process": "service_desk"}),
        "request": requester.get(f"/portal/requests/{instance_id}"),
        "inbox": desk.get("/inbox"),
        "empty inbox": client_for("vendor").get("/inbox"),
        "task": desk.get(f"/tasks/{classify}"),
        "task with errors": desk.post(f"/tasks/{classify}", data={"impact": "门诊", "fault_level": ""}),
        "completed task": desk.get(f"/tasks/{accept}"),
        "auditor task": client_for("auditor").get(f"/tasks/{classify}"),
        "directory": client_for("process_owner").get("/admin/users"),
        "forbidden": client_for("engineer").get(f"/tasks/{classify}"),
        "not found": desk.get("/tasks/9999"),
        "conflict": desk.post(f"/tasks/{accept}", data={"request_confirmed": "true"}),
    }
    found = {name: english_words(response.text) for name, response in pages.items()}
    assert {name: words for name, words in found.items() if words} == {}
    assert all('lang="zh-CN"' in response.text for response in pages.values())


def test_key_pages_in_english_are_english(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    requester = client_for("requester")
    requester.post("/locale", data={"locale": "en"})
    instance_id = start_request(requester)
    for path in ("/portal/", "/portal/new", f"/portal/requests/{instance_id}"):
        page = requester.get(path).text
        assert 'lang="en"' in page and "我的请求" not in page and "My requests" in page
    assert "Service desk and on-site service" in requester.get("/portal/").text
