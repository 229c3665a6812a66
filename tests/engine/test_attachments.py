"""Attachments (engine.desk.attachments, engine.desk.attachment_store): the type table (extension AND content),
names, size and count limits, the disk store (content addressed, renamed into place, streamed in chunks), the
S3 store on moto, who sees and adds what, and the attachment_added event the audit verifies."""
from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import create_engine, inspect, update

from engine import access, users
from engine.audit import verification as audit
from engine.desk import attachment_store, attachments
from engine.desk.attachment_store import CHUNK, DiskStore, S3Store
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound, TooLarge
from engine.store import schema
from engine.store.db import Database
from engine.store.models import ProcessInstance
from tests.support.flows import Flow

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << >> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 20
ZIP = b"PK\x03\x04\x14\x00\x00\x00" + b"\x00" * 30
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 30


def add(db: Database, settings: attachments.Settings, instance_id: int, name: str, content: bytes,
        who: str = "requester", **options: Any) -> dict[str, Any]:
    with db.transaction() as session:
        return attachments.add_attachment(session, settings=settings, instance_id=instance_id,
                                          actor=users.actor(session, who), stream=io.BytesIO(content),
                                          filename=name, **options)


def read(db: Database, settings: attachments.Settings, attachment_id: int, who: str = "requester") -> bytes:
    with db.transaction() as session:
        found = attachments.open_attachment(session, settings=settings, attachment_id=attachment_id,
                                            actor=users.actor(session, who))
    return b"".join(found.chunks())


def listed(db: Database, instance_id: int, who: str) -> list[str]:
    with db.transaction() as session:
        rows = attachments.list_attachments(session, instance_id=instance_id, actor=users.actor(session, who))
    return [row["filename"] for row in rows]


@pytest.fixture
def disk(tmp_path: Path) -> attachments.Settings:
    return attachments.Settings(DiskStore(tmp_path / "files"), max_bytes=64 * 1024, max_files=5)


# --- types and names ------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "head", "expected"), [
    ("scan.pdf", PDF, "application/pdf"),
    ("SCREEN.PNG", PNG, "image/png"),
    ("photo.jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
    ("photo.jpg", b"\xff\xd8\xff\xe1\x00\x10Exif", "image/jpeg"),
    ("anim.gif", b"GIF89a\x01\x00", "image/gif"),
    ("logs.zip", ZIP, "application/zip"),
    ("plan.docx", ZIP, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("stock.xlsx", ZIP, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("old.doc", OLE, "application/msword"),
    ("old.xls", OLE, "application/vnd.ms-excel"),
    ("syslog.log", "交换机端口 down\n".encode(), "text/plain"),
    ("gbk.txt", "交换机端口 down\n".encode("gb18030"), "text/plain"),
    ("bom.csv", "\ufeff编号,名称\n1,交换机\n".encode(), "text/csv"),
    # A multi-byte character cut at the end of the 8 KiB head is still text.
    ("long.txt", ("日" * 3000).encode()[:attachment_store.HEAD], "text/plain"),
])
def test_allowed_types_by_extension_and_content(name: str, head: bytes, expected: str) -> None:
    assert attachments.check_type(name, head, len(head)) == expected
    assert attachments.served_type(expected) == expected


@pytest.mark.parametrize(("name", "head", "reason"), [
    ("setup.exe", b"MZ\x90\x00", "attachment_type_refused"),
    ("index.html", b"<html></html>", "attachment_type_refused"),
    ("logo.svg", b"<svg/>", "attachment_type_refused"),
    ("run.sh", b"#!/bin/sh\n", "attachment_type_refused"),
    ("noextension", b"hello", "attachment_type_refused"),
    ("report.pdf", PNG, "attachment_content_mismatch"),
    ("photo.png", b"\xff\xd8\xff\xe0", "attachment_content_mismatch"),
    ("plan.docx", OLE, "attachment_content_mismatch"),
    ("binary.txt", b"\x00\x01\x02\x03", "attachment_content_mismatch"),
    ("latin1.txt", b"\xff\xfe\xfd caf\xe9 \xff", "attachment_content_mismatch"),
    ("page.txt", b"  <!DOCTYPE html><html>", "attachment_content_refused"),
    ("image.log", b"<svg onload=alert(1)>", "attachment_content_refused"),
    ("tool.pdf", b"MZ\x90\x00%PDF-", "attachment_content_refused"),
    ("elf.csv", b"\x7fELF\x02\x01", "attachment_content_refused"),
    ("script.txt", b"#!/usr/bin/env python\n", "attachment_content_refused"),
    ("empty.txt", b"", "attachment_empty"),
])
def test_refused_types_name_the_file(name: str, head: bytes, reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        attachments.check_type(name, head, len(head))
    assert refused.value.reason == reason
    assert refused.value.params["filename"] == name
    assert name in refused.value.message


def test_a_content_type_off_the_list_is_served_as_octet_stream() -> None:
    assert attachments.served_type("text/html") == attachments.OCTET_STREAM
    assert attachments.served_type("image/svg+xml") == attachments.OCTET_STREAM


@pytest.mark.parametrize(("uploaded", "stored", "shown"), [
    ("report.pdf", "report.pdf", "report.pdf"),
    ("C:\\Users\\张三\\桌面\\故障 截图.png", "故障 截图.png", "C:\\Users\\张三\\桌面\\故障 截图.png"),
    ("../../etc/passwd.txt", "passwd.txt", "../../etc/passwd.txt"),
    ('a<b>:"c"|?*.txt', "a_b___c____.txt", 'a<b>:"c"|?*.txt'),
    ("bad\x00name\x1b.txt", "badname.txt", "badname.txt"),
    ("  ..hidden.log ", "hidden.log", "..hidden.log"),
    ("CON.txt", "_CON.txt", "CON.txt"),
    ("x" * 300 + ".pdf", "x" * 196 + ".pdf", ("x" * 300 + ".pdf")[:255]),
])
def test_filenames_are_cleaned_and_the_original_kept(uploaded: str, stored: str, shown: str) -> None:
    assert attachments.clean_filename(uploaded) == (stored, shown)


@pytest.mark.parametrize("name", ["", "  ", "../", "..", "\x00"])
def test_a_file_without_a_name_is_refused(name: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        attachments.clean_filename(name)
    assert refused.value.reason == "attachment_name_missing"


# --- the disk store and spooling ------------------------------------------------------------------

class CountingReader(io.BytesIO):
    """A source that remembers the largest read it was asked for."""

    largest = 0

    def read(self, size: int | None = -1) -> bytes:
        self.largest = max(self.largest, size if size is not None and size >= 0 else 1 << 62)
        return super().read(size)


def test_spooling_reads_in_chunks_hashes_and_refuses_past_the_limit(tmp_path: Path) -> None:
    content = b"a" * (5 * CHUNK + 17)
    source = CountingReader(content)
    with attachment_store.spool(source, max_bytes=len(content), name="big.log", directory=tmp_path) as spooled:
        assert spooled.size == len(content) and spooled.sha256 == hashlib.sha256(content).hexdigest()
        assert spooled.head == content[:attachment_store.HEAD]
        assert spooled.path.read_bytes() == content
    assert source.largest == CHUNK  # never the whole file at once
    assert list(tmp_path.iterdir()) == []  # the temporary file is gone
    with pytest.raises(TooLarge) as refused:
        with attachment_store.spool(io.BytesIO(content), max_bytes=len(content) - 1, name="big.log",
                                    directory=tmp_path):
            pass
    assert refused.value.status == 413 and refused.value.params["filename"] == "big.log"
    assert list(tmp_path.iterdir()) == []


def test_disk_files_are_content_addressed_kept_once_and_streamed(bundled: Database,
                                                                 disk: attachments.Settings) -> None:
    flow = Flow(bundled, "service_desk")
    first = add(bundled, disk, flow.id, "scan.pdf", PDF)
    again = add(bundled, disk, flow.id, "copy.pdf", PDF)
    sha = hashlib.sha256(PDF).hexdigest()
    assert first["sha256"] == again["sha256"] == first["storage_key"] == sha
    assert first["size"] == len(PDF) and first["content_type"] == "application/pdf"
    store = disk.store
    assert isinstance(store, DiskStore)
    kept = [p for p in store.directory.rglob("*") if p.is_file()]
    assert kept == [store.directory / sha[:2] / sha[2:4] / sha]  # one file for both, no temporary file left
    with bundled.transaction() as session:
        found = attachments.open_attachment(session, settings=disk, attachment_id=again["id"],
                                            actor=users.actor(session, "requester"))
    assert found.path == kept[0] and found.filename == "copy.pdf" and b"".join(found.chunks()) == PDF


def test_the_store_refuses_keys_that_are_not_a_sha256(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        DiskStore(tmp_path).local_path("../../etc/passwd")


# --- limits, history and the audit ----------------------------------------------------------------

def test_adding_records_attachment_added_and_the_audit_verifies(bundled: Database,
                                                                disk: attachments.Settings) -> None:
    flow = Flow(bundled, "service_desk")
    added = add(bundled, disk, flow.id, "syslog.log", b"port 3 down\n")
    [event] = flow.events("attachment_added")
    assert event["actor"] == "requester"
    assert event["payload"] == {"attachment_id": added["id"], "filename": "syslog.log", "size": 12,
                                "sha256": hashlib.sha256(b"port 3 down\n").hexdigest(),
                                "content_type": "text/plain", "visibility": "customer", "task_id": None}
    flow.complete("accept", {"request_confirmed": True}, "service_desk")
    with bundled.transaction() as session:
        verdict = audit.verify_instance(session, flow.id)
    assert verdict.ok, verdict.first_divergence


def test_size_and_count_limits(bundled: Database, disk: attachments.Settings) -> None:
    flow = Flow(bundled, "service_desk")
    with pytest.raises(TooLarge) as refused:
        add(bundled, disk, flow.id, "huge.log", b"a" * (disk.max_bytes + 1))
    assert refused.value.reason == "attachment_too_large" and refused.value.params["limit_size"] == "64 KB"
    add(bundled, disk, flow.id, "exact.log", b"a" * disk.max_bytes)  # the limit itself is allowed
    for number in range(disk.max_files - 1):
        add(bundled, disk, flow.id, f"{number}.txt", f"file {number}".encode())
    with pytest.raises(InvalidInput) as full:
        add(bundled, disk, flow.id, "one-more.txt", b"x")
    assert full.value.reason == "attachment_too_many" and full.value.params["filename"] == "one-more.txt"
    assert len(flow.events("attachment_added")) == disk.max_files
    store = disk.store
    assert isinstance(store, DiskStore) and store.spool_dir is not None
    assert list(store.spool_dir.iterdir()) == []  # refused uploads leave no temporary file


def test_files_are_added_only_while_the_request_is_open(bundled: Database, disk: attachments.Settings) -> None:
    flow = Flow(bundled, "service_desk")
    with bundled.transaction() as session:  # as if it had ended; the rule reads the status only
        session.execute(update(ProcessInstance).where(ProcessInstance.id == flow.id).values(status="completed"))
    with pytest.raises(Conflict) as refused:
        add(bundled, disk, flow.id, "late.txt", b"x")
    assert refused.value.reason == "attachment_request_closed"


# --- who sees and adds what -----------------------------------------------------------------------

def test_visibility_and_permissions(bundled: Database, disk: attachments.Settings) -> None:
    with bundled.transaction() as session:
        users.create_user(session, username="requester2", password="pw", groups=["requester"])
    flow = Flow(bundled, "service_desk")
    shared = add(bundled, disk, flow.id, "photo.png", PNG)
    internal = add(bundled, disk, flow.id, "notes.txt", b"staff only", who="service_desk", visibility="internal")
    assert listed(bundled, flow.id, "requester") == ["photo.png"]
    assert listed(bundled, flow.id, "service_desk") == ["photo.png", "notes.txt"]
    assert listed(bundled, flow.id, "auditor") == ["photo.png", "notes.txt"]
    with pytest.raises(NotFound):  # a requester learns nothing of internal files
        read(bundled, disk, internal["id"], "requester")
    assert read(bundled, disk, internal["id"], "auditor") == b"staff only"
    with pytest.raises(Forbidden):
        read(bundled, disk, shared["id"], "requester2")
    with pytest.raises(Forbidden):
        listed(bundled, flow.id, "requester2")
    with pytest.raises(Forbidden):
        add(bundled, disk, flow.id, "b.txt", b"x", who="requester2")
    with pytest.raises(Forbidden) as internal_refused:
        add(bundled, disk, flow.id, "c.txt", b"x", visibility="internal")
    assert internal_refused.value.reason == "attachment_forbidden"
    with pytest.raises(Forbidden) as auditor_refused:
        add(bundled, disk, flow.id, "d.txt", b"x", who="auditor")
    assert auditor_refused.value.reason == "auditor_read_only"
    with pytest.raises(Forbidden):  # the engineers work on nothing of this request yet
        listed(bundled, flow.id, "engineer")
    with pytest.raises(InvalidInput):
        add(bundled, disk, flow.id, "e.txt", b"x", who="service_desk", visibility="public")


def test_agents_working_on_the_request_see_and_add_on_their_task(bundled: Database,
                                                                 disk: attachments.Settings) -> None:
    flow = Flow(bundled, "service_desk")
    flow.complete("accept", {"request_confirmed": True}, "service_desk")
    flow.complete("classify", {"category": "fault", "fault_level": "III"}, "service_desk")
    task_id = flow.task_id("remote_fix")
    added = add(bundled, disk, flow.id, "trace.log", b"trace\n", who="engineer", task_id=task_id,
                visibility="internal")
    with bundled.transaction() as session:
        rows = attachments.list_attachments(session, instance_id=flow.id, actor=users.actor(session, "engineer"))
    assert [(r["id"], r["task_id"], r["task_name"]) for r in rows] == [(added["id"], task_id, "远程解决")]
    with pytest.raises(NotFound) as stray:  # a task of another request is refused
        add(bundled, disk, Flow(bundled, "service_desk").id, "x.log", b"x", who="service_desk", task_id=task_id)
    assert stray.value.reason == "attachment_task_missing"


# --- S3-compatible storage (moto) -----------------------------------------------------------------

@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[attachments.Settings]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="opsflow-files")
        yield attachments.Settings(S3Store(bucket="opsflow-files", client=client), max_bytes=1024 * 1024)


def test_s3_store_keeps_streams_and_dedupes(bundled: Database, s3: attachments.Settings) -> None:
    flow = Flow(bundled, "service_desk")
    content = PDF + b"%" * (3 * CHUNK)  # several chunks
    first = add(bundled, s3, flow.id, "scan.pdf", content)
    add(bundled, s3, flow.id, "scan-again.pdf", content)
    store = s3.store
    assert isinstance(store, S3Store)
    sha = hashlib.sha256(content).hexdigest()
    objects = store.client.list_objects_v2(Bucket="opsflow-files")["Contents"]
    assert [o["Key"] for o in objects] == [f"attachments/{sha[:2]}/{sha}"]
    with bundled.transaction() as session:
        found = attachments.open_attachment(session, settings=s3, attachment_id=first["id"],
                                            actor=users.actor(session, "service_desk"))
    assert found.path is None
    chunks = list(found.chunks())
    assert len(chunks) > 1 and max(len(c) for c in chunks) <= CHUNK and b"".join(chunks) == content


def test_s3_store_from_settings_reads_its_keys_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSFLOW_S3_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("OPSFLOW_S3_SECRET_ACCESS_KEY", "secret")
    with mock_aws():
        store = attachment_store.open_store(directory="unused", s3_bucket="opsflow-env", s3_region="us-east-1")
        assert isinstance(store, S3Store)
        assert store.client.meta.region_name == "us-east-1"
        assert store.client._request_signer._credentials.access_key == "AKIDEXAMPLE"
        store.client.create_bucket(Bucket="opsflow-env")
        assert not store.exists(hashlib.sha256(b"").hexdigest())


def test_the_disk_is_the_default_store(tmp_path: Path) -> None:
    store = attachment_store.open_store(directory=tmp_path)
    assert isinstance(store, DiskStore) and store.directory == tmp_path


# --- the migration --------------------------------------------------------------------------------

def test_the_attachment_table_migrates_up_and_down(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    schema.upgrade(url, "search_0001")
    engine = create_engine(url)
    try:
        assert "attachment" not in inspect(engine).get_table_names()
        schema.upgrade(url, "attachments_0001")
        assert "attachment" in inspect(engine).get_table_names()
        assert {"ix_attachment_instance"} == {i["name"] for i in inspect(engine).get_indexes("attachment")}
        schema.downgrade(url, "search_0001")
        inspect(engine).clear_cache()
        assert "attachment" not in inspect(engine).get_table_names()
        schema.upgrade(url, "attachments_0001")
    finally:
        engine.dispose()


# --- the rules as a table -------------------------------------------------------------------------

class _Request:
    id, started_by = 7, "alice"


_ALICE = users.Actor("alice", frozenset({"requester"}))
_BOB = users.Actor("bob", frozenset({"requester"}))  # e.g. a need owner deciding on alice's request
_DESK = users.Actor("desk", frozenset({"service_desk"}))
_ENGINEER = users.Actor("eng", frozenset({"engineer"}))
_AUDITOR = users.Actor("aud", frozenset({"auditor"}))
_OWNER = users.Actor("owner", frozenset({"process_owner"}))


@pytest.mark.parametrize(("actor", "works_on_it", "reads", "reads_internal", "adds", "adds_internal"), [
    (_ALICE, False, True, False, True, False),  # the requester: customer-visible files, their own request
    (_BOB, False, False, False, False, False),  # another customer
    (_BOB, True, True, False, False, False),  # another customer who sees one of its tasks: reads only
    (_DESK, False, True, True, True, True),  # the service desk takes every request
    (_ENGINEER, False, False, False, False, False),  # an engineer nothing of it reaches
    (_ENGINEER, True, True, True, True, True),  # an engineer working on it
    (_AUDITOR, False, True, True, False, False),  # auditors read
    (_OWNER, False, True, True, False, False),  # overseers read every history
])
def test_who_reads_and_adds_attachments(actor: users.Actor, works_on_it: bool, reads: bool, reads_internal: bool,
                                        adds: bool, adds_internal: bool) -> None:
    request = _Request()
    assert access.may_read_attachments(request, actor, works_on_it=works_on_it) is reads
    assert access.may_read_internal_attachments(request, actor, works_on_it=works_on_it) is reads_internal
    assert access.may_attach(request, actor, "customer", works_on_it=works_on_it) is adds
    assert access.may_attach(request, actor, "internal", works_on_it=works_on_it) is adds_internal
