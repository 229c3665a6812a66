"""Attachments on the web (app/attachments, macros/attachments.html): upload from the portal and from a task
page, the panel on both, the download's headers and bytes, who may see and add what, the size limit (413)."""
from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.app.conftest import PASSWORD, at_remote_fix, csrf_token_on, make_app, start_request, visible_text

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
LOG = "2026-12-05 08:00:01 交换机 3 号端口 down\n".encode()


def upload(client: FlaskClient, instance_id: int, name: str, content: bytes, **fields: object) -> object:
    return client.post(f"/requests/{instance_id}/attachments",
                       data={"file": (io.BytesIO(content), name), **fields}, content_type="multipart/form-data")


def shows(html: str, text: str) -> bool:
    """Whether the page reads `text` (spaces aside: names are marked up apart from the sentence around them)."""
    return re.sub(r"\s+", "", text) in re.sub(r"\s+", "", visible_text(html))


def attachment_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'href="/attachments/(\d+)"', html)]


def test_the_requester_attaches_a_file_and_downloads_it_with_safe_headers(
        client_for: Callable[[str], FlaskClient]) -> None:
    requester = client_for("requester")
    instance_id = start_request(requester)
    response = upload(requester, instance_id, "故障 截图.pdf", PDF)
    assert response.status_code == 302
    assert response.location.endswith(f"/portal/requests/{instance_id}#attachments")
    page = requester.get(f"/portal/requests/{instance_id}").text
    assert shows(page, "已附加 故障 截图.pdf")
    [attachment_id] = attachment_ids(page)
    download = requester.get(f"/attachments/{attachment_id}")
    assert download.status_code == 200
    assert download.data == PDF
    assert download.mimetype == "application/pdf"
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%E6%95%85%E9%9A%9C%20%E6%88%AA%E5%9B%BE.pdf" in disposition
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert download.headers["Cache-Control"].startswith("private")


def test_an_agent_attaches_on_the_task_page_internal_files_stay_internal(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    instance_id, task_id = at_remote_fix(app, client_for)
    engineer = client_for("engineer")
    task_page = engineer.get(f"/tasks/{task_id}").text
    assert 'id="attachments"' in task_page and 'name="visibility" value="internal"' in task_page
    assert upload(engineer, instance_id, "switch.log", LOG, task_id=task_id,
                  next=f"/tasks/{task_id}").status_code == 302
    assert upload(engineer, instance_id, "notes.txt", b"internal only", task_id=task_id,
                  visibility="internal").status_code == 302
    page = engineer.get(f"/tasks/{task_id}").text
    shown, internal = attachment_ids(page)
    assert shows(page, "于步骤“远程解决”")
    requester = client_for("requester")
    portal = requester.get(f"/portal/requests/{instance_id}").text
    assert attachment_ids(portal) == [shown]
    assert requester.get(f"/attachments/{shown}").data == LOG
    assert requester.get(f"/attachments/{internal}").status_code == 404  # not even its existence
    assert client_for("auditor").get(f"/attachments/{internal}").data == b"internal only"


def test_refusals_name_the_file(client_for: Callable[[str], FlaskClient]) -> None:
    requester = client_for("requester")
    instance_id = start_request(requester)
    for name, content, expected in [
        ("setup.exe", b"MZ\x90\x00", "setup.exe：不接受此类型的文件"),
        ("page.html", b"<html><script>alert(1)</script>", "page.html：不接受此类型的文件"),
        ("logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "logo.svg：不接受此类型的文件"),
        ("report.pdf", b"\x89PNG\r\n\x1a\n....", "report.pdf 不是 PDF 文件：其内容看起来是 PNG"),
        ("readme.txt", b"<!DOCTYPE html><html></html>", "readme.txt 的内容是 HTML/SVG"),
        ("tool.txt", b"MZ\x90\x00\x03", "tool.txt 的内容是 program"),
        ("empty.csv", b"", "empty.csv 是空文件"),
    ]:
        response = upload(requester, instance_id, name, content)
        assert response.status_code == 302, name
        page = requester.get(f"/portal/requests/{instance_id}").text
        assert shows(page, expected), (name, visible_text(page))
    assert attachment_ids(requester.get(f"/portal/requests/{instance_id}").text) == []


def test_requesters_attach_only_to_their_own_requests_and_auditors_never(
        client_for: Callable[[str], FlaskClient]) -> None:
    requester = client_for("requester")
    instance_id = start_request(requester)
    assert upload(requester, instance_id, "a.txt", b"mine").status_code == 302
    [attachment_id] = attachment_ids(requester.get(f"/portal/requests/{instance_id}").text)
    other = client_for("requester2")
    assert upload(other, instance_id, "b.txt", b"not mine").status_code == 403
    assert other.get(f"/attachments/{attachment_id}").status_code == 403
    refused = upload(requester, instance_id, "c.txt", b"x", visibility="internal")  # staff only: not theirs
    assert refused.status_code == 403 and shows(refused.text, f"requester 不能向请求 {instance_id} 添加此类文件")
    auditor = client_for("auditor")
    assert upload(auditor, instance_id, "d.txt", b"x").status_code == 403
    page = auditor.get(f"/portal/requests/{instance_id}").text
    assert attachment_ids(page) == [attachment_id] and 'class="attachment-upload"' not in page


def test_a_file_over_the_limit_is_refused_with_a_page_naming_the_limit(
        tmp_path: Path, web_template: Path) -> None:
    app = make_app(tmp_path, web_template, ATTACHMENT_MAX_BYTES=1024)
    client = app.test_client()
    client.post("/login", data={"username": "requester", "password": PASSWORD})
    instance_id = start_request(client)
    just_over = upload(client, instance_id, "big.txt", b"a" * 1025)  # within the form's room: the engine counts
    assert just_over.status_code == 413
    assert shows(just_over.text, "big.txt 超过了每个文件 1 KB 的上限")
    far_over = upload(client, instance_id, "huge.txt", b"a" * (200 * 1024))  # refused before the body is read
    assert far_over.status_code == 413
    assert shows(far_over.text, "超过了每个文件 1 KB 的上限，未添加任何附件")
    assert upload(client, instance_id, "fits.txt", b"a" * 1024).status_code == 302
    assert len(attachment_ids(client.get(f"/portal/requests/{instance_id}").text)) == 1


@pytest.mark.parametrize("limit", [3])
def test_the_number_of_files_per_request_is_limited(tmp_path: Path, web_template: Path, limit: int) -> None:
    app = make_app(tmp_path, web_template, ATTACHMENT_MAX_FILES=limit)
    client = app.test_client()
    client.post("/login", data={"username": "requester", "password": PASSWORD})
    instance_id = start_request(client)
    for number in range(limit):
        upload(client, instance_id, f"{number}.txt", b"x")
    upload(client, instance_id, "one-more.txt", b"x")
    page = client.get(f"/portal/requests/{instance_id}").text
    assert len(attachment_ids(page)) == limit
    assert shows(page, f"未添加 one-more.txt：请求 {instance_id} 已有 3 个附件")
    assert 'class="attachment-upload"' not in page


def test_the_audit_page_shows_the_attachment_and_verifies(client_for: Callable[[str], FlaskClient]) -> None:
    requester = client_for("requester")
    instance_id = start_request(requester)
    upload(requester, instance_id, "故障截图.pdf", PDF)
    page = client_for("auditor").get(f"/audit/instances/{instance_id}").text
    row = re.search(r'<tr class="event kind-attachment_added.*?</tr>', page, re.S)
    assert row, "no attachment_added row"
    assert shows(row[0], "添加了附件") and shows(row[0], f"故障截图.pdf · {len(PDF)} 字节")
    assert hashlib.sha256(PDF).hexdigest() in row[0]
    assert 'data-ok="true"' in page  # the chain and the re-execution accept the event


def test_the_upload_form_needs_its_csrf_token(csrf_app: Flask) -> None:
    client = csrf_app.test_client()
    client.post("/login", data={"username": "requester", "password": PASSWORD,
                                "csrf_token": csrf_token_on(client, "/login")})
    instance_id = start_request(client, csrf_token=csrf_token_on(client, "/portal/new"))
    assert upload(client, instance_id, "a.txt", b"x").status_code == 400
    token = csrf_token_on(client, f"/portal/requests/{instance_id}")
    assert upload(client, instance_id, "a.txt", b"x", csrf_token=token).status_code == 302
    assert len(attachment_ids(client.get(f"/portal/requests/{instance_id}").text)) == 1


def test_downloads_stream_from_an_s3_bucket(tmp_path: Path, web_template: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3
    from moto import mock_aws

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="opsflow-web")
        app = make_app(tmp_path, web_template, S3_BUCKET="opsflow-web", S3_REGION="us-east-1")
        client = app.test_client()
        client.post("/login", data={"username": "requester", "password": PASSWORD})
        instance_id = start_request(client)
        content = LOG * 5000  # several chunks
        assert upload(client, instance_id, "交换机.log", content).status_code == 302
        [attachment_id] = attachment_ids(client.get(f"/portal/requests/{instance_id}").text)
        download = client.get(f"/attachments/{attachment_id}")
        assert download.is_streamed and download.data == content
        assert download.headers["Content-Length"] == str(len(content))
        assert download.headers["Content-Type"] == "text/plain"
        assert download.headers["X-Content-Type-Options"] == "nosniff"
        assert download.headers["Content-Disposition"].startswith("attachment;")
        assert not (tmp_path / "attachments").exists()  # nothing went to the disk store
