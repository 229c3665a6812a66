"""Attachments through /api/v1 (app/api/attachments.py): add with multipart/form-data, list, download with the
web's safe headers; refusals as problem+json (422 naming the file, 413 over the limit, 403, 404)."""
from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from tests.app.conftest import PASSWORD, make_app, start_request
from tests.app.test_api import make_token

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def post_file(client: FlaskClient, token: str, instance_id: int, name: str, content: bytes,
              **fields: object) -> object:
    return client.post(f"/api/v1/instances/{instance_id}/attachments", headers={"Authorization": f"Bearer {token}"},
                       data={"file": (io.BytesIO(content), name), **fields}, content_type="multipart/form-data")


def test_add_list_and_download_through_the_api(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    instance_id = start_request(client_for("requester"))
    client, token = app.test_client(), make_token(app, "requester")
    auth = {"Authorization": f"Bearer {token}"}
    added = post_file(client, token, instance_id, "屏幕截图.png", PNG)
    assert added.status_code == 201, added.text
    body = added.json
    assert body["filename"] == "屏幕截图.png" and body["content_type"] == "image/png" and body["size"] == len(PNG)
    assert body["visibility"] == "customer" and body["uploaded_by"] == "requester"
    assert added.headers["Location"] == f"/api/v1/attachments/{body['id']}/content"
    listed = client.get(f"/api/v1/instances/{instance_id}/attachments", headers=auth)
    assert [a["id"] for a in listed.json] == [body["id"]]
    content = client.get(added.headers["Location"], headers=auth)
    assert content.status_code == 200 and content.data == PNG
    assert content.headers["Content-Type"] == "image/png"
    assert content.headers["X-Content-Type-Options"] == "nosniff"
    assert content.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert content.headers["Content-Disposition"].startswith("attachment;")
    history = client.get(f"/api/v1/instances/{instance_id}/history", headers=auth).json
    assert [e["payload"]["filename"] for e in history if e["kind"] == "attachment_added"] == ["屏幕截图.png"]


def test_the_requester_reads_no_internal_file_in_the_history(app: Flask,
                                                              client_for: Callable[[str], FlaskClient]) -> None:
    """The service desk's internal file keeps its place in the history the requester reads, without its name,
    size, hash or uploader; the desk reads it whole."""
    instance_id = start_request(client_for("requester"))
    client = app.test_client()
    desk_token, requester_token = make_token(app, "service_desk"), make_token(app, "requester")
    assert post_file(client, desk_token, instance_id, "内部排查记录.txt", b"cert expired", visibility="internal"
                     ).status_code == 201
    assert post_file(client, desk_token, instance_id, "操作说明.txt", b"restart it").status_code == 201

    def attachment_events(token: str) -> list[dict[str, object]]:
        answer = client.get(f"/api/v1/instances/{instance_id}/history", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200
        return [e for e in answer.json if e["kind"] == "attachment_added"]
    internal, shown = attachment_events(requester_token)
    assert internal["payload"] == {"redacted": True} and internal["actor"] is None
    assert shown["payload"]["filename"] == "操作说明.txt" and shown["actor"] == "service_desk"
    assert [e["payload"]["filename"] for e in attachment_events(desk_token)] == ["内部排查记录.txt", "操作说明.txt"]


def test_api_refusals_are_problems_naming_the_file(app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    instance_id = start_request(client_for("requester"))
    client, token = app.test_client(), make_token(app, "requester")
    refused = post_file(client, token, instance_id, "tool.pdf", b"MZ\x90\x00")
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert refused.json["reason"] == "attachment_content_refused" and "tool.pdf" in refused.json["detail"]
    missing = client.post(f"/api/v1/instances/{instance_id}/attachments", headers={"Authorization": f"Bearer {token}"},
                          data={"file": "not a file part"}, content_type="multipart/form-data")
    assert missing.status_code == 422 and "file" in str(missing.json["errors"])
    other = make_token(app, "requester2")
    assert post_file(client, other, instance_id, "a.png", PNG).status_code == 403
    assert post_file(client, token, 999_999, "a.png", PNG).status_code == 404
    assert client.get("/api/v1/attachments/999999/content",
                      headers={"Authorization": f"Bearer {token}"}).status_code == 404


def test_api_upload_over_the_limit_is_413(tmp_path: Path, web_template: Path) -> None:
    app = make_app(tmp_path, web_template, ATTACHMENT_MAX_BYTES=1024)
    web = app.test_client()
    web.post("/login", data={"username": "requester", "password": PASSWORD})
    instance_id = start_request(web)
    token = make_token(app, "requester")
    client = app.test_client()
    near = post_file(client, token, instance_id, "big.png", PNG + b"\x00" * 1024)
    assert near.status_code == 413 and near.json["reason"] == "attachment_too_large"
    far = post_file(client, token, instance_id, "huge.png", PNG + b"\x00" * (300 * 1024))
    assert far.status_code == 413 and far.json["reason"] == "attachment_upload_too_large"


def test_the_attachment_operations_conform_with_a_request_and_a_file_there(
        app: Flask, client_for: Callable[[str], FlaskClient]) -> None:
    """Schemathesis over the attachment operations aimed at a request and a file that exist (the general run
    mostly meets unknown ids): generated multipart bodies answer as documented, never 5xx."""
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings

    from tests.app.test_api_schemathesis import CHECKS

    instance_id = start_request(client_for("requester"))
    token = make_token(app, "service_desk")
    added = post_file(app.test_client(), token, instance_id, "a.png", PNG)
    assert added.status_code == 201
    existing = {"instance_id": instance_id, "attachment_id": added.json["id"]}
    statuses: set[int] = set()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations() if "attachments" in result.ok().path]
    assert len(operations) == 3
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        def conforms(case: schemathesis.Case) -> None:
            case.path_parameters = {key: existing[key] for key in case.path_parameters or {}}
            response = case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
            statuses.add(response.status_code)

        conforms()
    assert {200, 201, 422} <= statuses, statuses  # the operations were reached, not only refused
