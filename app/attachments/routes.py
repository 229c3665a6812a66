"""Upload to a request (from its portal page or one of its task pages) and download, streamed, with headers
that keep a browser from running or rendering what it receives."""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Response, current_app, flash, redirect, request, send_file, url_for
from flask_babel import gettext
from werkzeug.datastructures import FileStorage

from app.attachments import bp
from app.attachments.schemas import UploadArgs
from app.web.error_details import describe
from app.web.requests import load_args, safe_next, wants_json
from app.web.session import actor, unit_of_work
from engine.desk import attachment_store, attachments
from engine.errors import Conflict, InvalidInput, TooLarge

# Room for the form's other fields and the multipart framing around the file.
FORM_OVERHEAD = 64 * 1024
UPLOAD_ENDPOINT = "attachments.upload"


def settings() -> attachments.Settings:
    found: attachments.Settings = current_app.extensions["opsflow_attachments"]
    return found


def upload_limit() -> int:
    """The largest upload request: one file at the limit and the form around it."""
    return settings().max_bytes + FORM_OVERHEAD


@bp.url_value_preprocessor
def _upload_size(endpoint: str | None, _values: Any) -> None:
    """Before anything reads the body (the CSRF check does): an upload may be as large as the file limit
    allows; a body announced larger is refused at once, as a 413 naming the limit."""
    if endpoint != UPLOAD_ENDPOINT:
        return
    request.max_content_length = upload_limit()
    if request.content_length is not None and request.content_length > upload_limit():
        raise TooLarge(f"the upload is {request.content_length} bytes; a file may have at most "
                       f"{settings().max_bytes} bytes", reason="attachment_upload_too_large",
                       params={"size": request.content_length, "limit": settings().max_bytes,
                               "limit_size": attachment_store.size_text(settings().max_bytes)})


def _back(instance_id: int, args: dict[str, Any]) -> Any:
    default = (url_for("inbox.task", task_id=args["task_id"]) if args["task_id"]
               else url_for("portal.request_detail", instance_id=instance_id))
    return redirect(safe_next(args["next"], default) + "#attachments")


@bp.post("/requests/<int:instance_id>/attachments")
def upload(instance_id: int) -> Any:
    args = load_args(UploadArgs(), request.form)
    upload = request.files.get("file")
    if not isinstance(upload, FileStorage) or not upload.filename:
        if wants_json():
            raise InvalidInput("choose a file to attach", field_errors={"file": ["missing"]})
        flash(gettext("Choose a file to attach."), "warning")
        return _back(instance_id, args)
    try:
        with unit_of_work() as session:
            added = attachments.add_attachment(session, settings=settings(), instance_id=instance_id, actor=actor(),
                                               stream=upload.stream, filename=upload.filename,
                                               visibility=args["visibility"], task_id=args["task_id"])
    except (InvalidInput, Conflict) as error:
        if wants_json():
            raise
        flash(describe(error), "warning")  # names the file and what is wrong with it
        return _back(instance_id, args)
    flash(gettext("%(name)s was attached.", name=added["filename"]), "success")
    return _back(instance_id, args)


def content_disposition(filename: str) -> str:
    """attachment, with an ASCII fallback name and the real one in RFC 5987's filename*."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\%' else "_" for ch in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def download_response(found: attachments.Download) -> Response:
    """The file streamed (from disk as a file, from a bucket as chunks), never shown inline nor sniffed."""
    if found.path is not None:
        response = send_file(found.path, mimetype=found.content_type, as_attachment=True,
                             download_name=found.filename, etag=found.sha256, conditional=True, max_age=0)
    else:
        response = Response(found.chunks(), mimetype=found.content_type, direct_passthrough=True)
        response.content_length = found.size
        response.set_etag(found.sha256)
    response.headers["Content-Type"] = found.content_type  # as stored: no charset guessed for a text file
    response.headers["Content-Disposition"] = content_disposition(found.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.get("/attachments/<int:attachment_id>")
def download(attachment_id: int) -> Any:
    with unit_of_work() as session:
        found = attachments.open_attachment(session, settings=settings(), attachment_id=attachment_id,
                                            actor=actor())
    return download_response(found)


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    """For the portal's request page and the task page: the attachments panel of a request."""
    def attachments_panel(instance_id: int) -> dict[str, Any] | None:
        with unit_of_work() as session:
            return attachments.panel(session, settings=settings(), instance_id=instance_id, actor=actor())

    return {"attachments_panel": attachments_panel, "file_size": attachment_store.size_text}

