"""Attachments: files on requests and their tasks (issue 15), with size, count and type limits.

A file's type comes from an allow-list decided by its extension AND its first bytes (a small signature table,
no libmagic); executables, HTML and SVG are refused. Adding one writes its row and an `attachment_added` event
(name, size, sha256) in the caller's transaction; the bytes go to the attachment store (engine.desk.
attachment_store) first, content addressed, so a rolled-back upload leaves at most an unreferenced file.
Who sees and adds what is engine.access (may_read_attachments, may_attach).
"""
from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from engine import access, clock
from engine.desk import attachment_store, request_facts
from engine.desk.attachment_store import AttachmentStore
from engine.errors import Conflict, InvalidInput, NotFound
from engine.process import history, runtime
from engine.status import InstanceStatus
from engine.store.attachment_models import Attachment
from engine.store.models import TaskRecord
from engine.users import Actor

CUSTOMER, INTERNAL = access.ATTACHMENT_VISIBILITIES
VISIBILITIES = access.ATTACHMENT_VISIBILITIES
DEFAULT_MAX_BYTES = 20 * 1024 * 1024  # OPSFLOW_ATTACHMENT_MAX_BYTES
DEFAULT_MAX_FILES = 20  # OPSFLOW_ATTACHMENT_MAX_FILES: per request
NAME_LIMIT = 200
OCTET_STREAM = "application/octet-stream"

_ZIP = (b"PK\x03\x04", b"PK\x05\x06")  # a zip, or an empty one; the Office Open XML formats are zips
_OLE = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)  # the older Office formats


@dataclass(frozen=True)
class FileType:
    """An allowed kind of file: its content type and the signatures its content starts with (none: text)."""

    content_type: str
    label: str
    signatures: tuple[bytes, ...] = ()

    @property
    def is_text(self) -> bool:
        return not self.signatures


_OOXML = "application/vnd.openxmlformats-officedocument."
TYPES: dict[str, FileType] = {
    ".pdf": FileType("application/pdf", "PDF", (b"%PDF-",)),
    ".png": FileType("image/png", "PNG", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": FileType("image/jpeg", "JPEG", (b"\xff\xd8\xff",)),
    ".jpeg": FileType("image/jpeg", "JPEG", (b"\xff\xd8\xff",)),
    ".gif": FileType("image/gif", "GIF", (b"GIF87a", b"GIF89a")),
    ".zip": FileType("application/zip", "ZIP", _ZIP),
    ".docx": FileType(_OOXML + "wordprocessingml.document", "Word", _ZIP),
    ".xlsx": FileType(_OOXML + "spreadsheetml.sheet", "Excel", _ZIP),
    ".pptx": FileType(_OOXML + "presentationml.presentation", "PowerPoint", _ZIP),
    ".doc": FileType("application/msword", "Word 97-2003", _OLE),
    ".xls": FileType("application/vnd.ms-excel", "Excel 97-2003", _OLE),
    ".ppt": FileType("application/vnd.ms-powerpoint", "PowerPoint 97-2003", _OLE),
    ".txt": FileType("text/plain", "text"),
    ".log": FileType("text/plain", "text"),
    ".csv": FileType("text/csv", "CSV"),
}
# What a download may be served as; anything else stored goes out as application/octet-stream.
ALLOWED_CONTENT_TYPES = frozenset(t.content_type for t in TYPES.values())
EXTENSIONS = tuple(TYPES)
# Content that is never kept, whatever the name says: programs, and what a browser would render as a page.
_EXECUTABLE = (b"MZ", b"\x7fELF", b"\xca\xfe\xba\xbe", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf",
               b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe", b"#!")
_MARKUP = (b"<!doctype", b"<html", b"<head", b"<body", b"<script", b"<svg", b"<?xml", b"<iframe")
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$", re.IGNORECASE)

_attachments = cast(Table, Attachment.__table__)
_tasks = cast(Table, TaskRecord.__table__)


@dataclass(frozen=True)
class Settings:
    """Where the bytes go and the limits (config: OPSFLOW_ATTACHMENT_DIR or OPSFLOW_S3_*, …_MAX_BYTES, …_MAX_FILES)."""

    store: AttachmentStore
    max_bytes: int = DEFAULT_MAX_BYTES
    max_files: int = DEFAULT_MAX_FILES


@dataclass(frozen=True)
class Download:
    """A file to send: its names, the content type to serve it as, and its bytes (a path or chunks)."""

    id: int
    filename: str
    original_filename: str
    content_type: str
    size: int
    sha256: str
    path: Path | None
    chunks: Callable[[], Iterator[bytes]]


# --- names and types ------------------------------------------------------------------------------

def clean_filename(name: str) -> tuple[str, str]:
    """(the name to store and send, the name as uploaded for display): no path, no control or reserved
    characters, at most NAME_LIMIT characters with the extension kept."""
    shown = "".join(ch for ch in unicodedata.normalize("NFC", name or "")
                    if unicodedata.category(ch)[0] != "C").strip()
    base = re.split(r"[\\/]", shown)[-1]
    base = re.sub(r'[<>:"|?*;]', "_", base)
    base = re.sub(r"\s+", " ", base).strip(" .")
    if not base:
        raise InvalidInput("the file has no name", field_errors={"file": ["the file has no name"]},
                           reason="attachment_name_missing")
    if _WINDOWS_RESERVED.match(base):
        base = "_" + base
    if len(base) > NAME_LIMIT:
        stem, dot, ext = base.rpartition(".")
        ext = dot + ext if dot and len(ext) <= 10 else ""
        base = (stem if ext else base)[:NAME_LIMIT - len(ext)] + ext
    return base, shown[:255]


def _looks_like(head: bytes) -> str | None:
    """What a file's first bytes say it is, for the refusal's wording."""
    for extension, kind in TYPES.items():
        if kind.signatures and head.startswith(kind.signatures) and extension not in (".docx", ".xlsx", ".pptx"):
            return kind.label
    if head.startswith(_EXECUTABLE):
        return "program"
    if head.lstrip().lower().startswith(_MARKUP):
        return "HTML/SVG"
    return None


def _is_text(head: bytes) -> bool:
    """UTF-8 (with or without BOM) or GB18030 text without NUL bytes; a character cut at the end of the head is
    fine."""
    if b"\x00" in head:
        return False
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
        return True
    return False


def check_type(filename: str, head: bytes, size: int) -> str:
    """The content type of a file from the allow-list, by its extension and its first bytes; refuses
    executables, pages (HTML, SVG), unknown extensions, and content that is not what its name says."""
    allowed = ", ".join(EXTENSIONS)
    if size == 0:
        raise InvalidInput(f"{filename} is empty", field_errors={"file": [f"{filename} is empty"]},
                           reason="attachment_empty", params={"filename": filename})
    extension = Path(filename).suffix.lower()
    kind = TYPES.get(extension)
    if kind is None:
        raise InvalidInput(f"{filename}: files of this type are not accepted (accepted: {allowed})",
                           field_errors={"file": [f"{filename}: type not accepted"]},
                           reason="attachment_type_refused", params={"filename": filename, "allowed": allowed})
    found = _looks_like(head)
    if found in ("program", "HTML/SVG"):
        raise InvalidInput(f"{filename} contains a {found}, which is never accepted",
                           field_errors={"file": [f"{filename}: {found} refused"]},
                           reason="attachment_content_refused", params={"filename": filename, "found": found})
    if kind.is_text:
        ok = _is_text(head)
    else:
        ok = head.startswith(kind.signatures)
    if not ok:
        found_label = found or "unknown content"
        raise InvalidInput(f"{filename} is not a {kind.label} file (its content looks like {found_label})",
                           field_errors={"file": [f"{filename}: not a {kind.label} file"]},
                           reason="attachment_content_mismatch",
                           params={"filename": filename, "expected": kind.label, "found": found_label})
    return kind.content_type


def served_type(content_type: str) -> str:
    """The content type a download is served as: the stored one only if it is on the allow-list."""
    return content_type if content_type in ALLOWED_CONTENT_TYPES else OCTET_STREAM


# --- who works on a request -----------------------------------------------------------------------

def works_on(session: Session, request: request_facts.Request, actor: Actor) -> bool:
    """Whether the actor sees one of the request's tasks (open or done): the fact the rules weigh (a customer
    deciding on a colleague's request reads its customer-visible files; only staff add to what is not theirs)."""
    return any(access.may_see_task(task, actor) for task in request_facts.tasks(session, request))


# --- adding ---------------------------------------------------------------------------------------

@clock.one_instant
def add_attachment(session: Session, *, settings: Settings, instance_id: int, actor: Actor, stream: IO[bytes],
                   filename: str, visibility: str = CUSTOMER, task_id: int | None = None) -> dict[str, Any]:
    """Add a file to a request (on one of its tasks, if given): checked, kept in the store, its row and its
    attachment_added event written in this transaction (the caller commits). Only while the request runs."""
    request = request_facts.load(session, instance_id)
    # Read now, saved with the event under the instance's version check: a racing upload conflicts rather
    # than pass the count limit with this one.
    instance = runtime.load_instance(session, instance_id)
    if visibility not in VISIBILITIES:
        raise InvalidInput(f"visibility must be one of {', '.join(VISIBILITIES)}, not {visibility!r}",
                           field_errors={"visibility": [f"one of {', '.join(VISIBILITIES)}"]},
                           reason="attachment_visibility", params={"visibility": visibility})
    access.require_attach(request, actor, visibility, works_on_it=works_on(session, request, actor))
    if task_id is not None:
        found = request_facts.tasks(session, request, task_id=task_id)
        if not found or not access.may_see_task(found[0], actor):
            raise NotFound(f"request {instance_id} has no task {task_id}", reason="attachment_task_missing",
                           params={"instance_id": instance_id, "task_id": task_id})
    name, shown = clean_filename(filename)
    if request.status != InstanceStatus.RUNNING:
        raise Conflict(f"request {instance_id} is already {request.status}: files are added while it is open "
                       f"({name} was not added)", reason="attachment_request_closed",
                       params={"instance_id": instance_id, "filename": name})
    count = session.connection().scalar(select(func.count()).select_from(_attachments)
                                        .where(_attachments.c.instance_id == instance_id)) or 0
    if count >= settings.max_files:
        raise InvalidInput(f"{name} was not added: request {instance_id} already has {count} attachments, "
                           f"the most it may have", field_errors={"file": [f"at most {settings.max_files} files"]},
                           reason="attachment_too_many",
                           params={"filename": name, "limit": settings.max_files, "instance_id": instance_id})
    store = settings.store
    with attachment_store.spool(stream, max_bytes=settings.max_bytes, name=name,
                                directory=store.spool_dir) as spooled:
        content_type = check_type(name, spooled.head, spooled.size)
        key = store.keep(spooled)
    row = {"instance_id": instance_id, "task_id": task_id, "filename": name, "original_filename": shown,
           "content_type": content_type, "size": spooled.size, "sha256": spooled.sha256, "storage_key": key,
           "visibility": visibility, "uploaded_by": actor.username, "created_at": clock.now()}
    attachment_id = session.connection().execute(_attachments.insert().values(row)
                                                 .returning(_attachments.c.id)).scalar_one()
    runtime.record_events(session, instance=instance, actor=actor.username, events=[(history.ATTACHMENT_ADDED, {
        "attachment_id": attachment_id, "filename": name, "size": spooled.size, "sha256": spooled.sha256,
        "content_type": content_type, "visibility": visibility, "task_id": task_id})])
    return {"id": attachment_id, **row}


# --- reading --------------------------------------------------------------------------------------

_COLUMNS = (_attachments.c.id, _attachments.c.instance_id, _attachments.c.task_id, _attachments.c.filename,
            _attachments.c.original_filename, _attachments.c.content_type, _attachments.c.size,
            _attachments.c.sha256, _attachments.c.visibility, _attachments.c.uploaded_by, _attachments.c.created_at,
            _tasks.c.name.label("task_name"), _tasks.c.form_key.label("task_form_key"))


def _readable(session: Session, request: request_facts.Request, actor: Actor) -> tuple[bool, bool]:
    """(whether the actor works on the request, whether they read its internal attachments), after checking
    they may read its attachments at all."""
    works = works_on(session, request, actor)
    access.require_read_attachments(request, actor, works_on_it=works)
    return works, access.may_read_internal_attachments(request, actor, works_on_it=works)


def list_attachments(session: Session, *, instance_id: int, actor: Actor) -> list[dict[str, Any]]:
    """The request's attachments the actor may see, oldest first (a requester: the customer-visible ones)."""
    request = request_facts.load(session, instance_id)
    _works, internal = _readable(session, request, actor)
    return _rows(session, instance_id, internal)


def _rows(session: Session, instance_id: int, internal: bool) -> list[dict[str, Any]]:
    query = (select(*_COLUMNS).select_from(_attachments.outerjoin(_tasks, _tasks.c.id == _attachments.c.task_id))
             .where(_attachments.c.instance_id == instance_id).order_by(_attachments.c.id))
    if not internal:
        query = query.where(_attachments.c.visibility == CUSTOMER)
    return [dict(row._mapping) for row in session.execute(query)]


def panel(session: Session, *, settings: Settings, instance_id: int, actor: Actor) -> dict[str, Any] | None:
    """What an attachments panel shows one actor: the files they may see, whether they may add one (and an
    internal one), and the limits; None for whoever may not read them (the page shows no panel)."""
    request = request_facts.load(session, instance_id)
    works = works_on(session, request, actor)
    if not access.may_read_attachments(request, actor, works_on_it=works):
        return None
    internal = access.may_read_internal_attachments(request, actor, works_on_it=works)
    items = _rows(session, instance_id, internal)
    is_open = request.status == InstanceStatus.RUNNING
    count = len(items) if internal else session.connection().scalar(
        select(func.count()).select_from(_attachments).where(_attachments.c.instance_id == instance_id)) or 0
    return {"instance_id": instance_id, "items": items, "is_open": is_open, "is_full": count >= settings.max_files,
            "may_add": is_open and access.may_attach(request, actor, CUSTOMER, works_on_it=works),
            "may_add_internal": is_open and access.may_attach(request, actor, INTERNAL, works_on_it=works),
            "shows_internal": internal, "max_bytes": settings.max_bytes, "max_files": settings.max_files,
            "accept": ",".join(EXTENSIONS)}


def open_attachment(session: Session, *, settings: Settings, attachment_id: int, actor: Actor) -> Download:
    """A file to download, for whoever may read it (an internal one is not found for a requester)."""
    row = session.execute(select(_attachments).where(_attachments.c.id == attachment_id)).one_or_none()
    missing = NotFound(f"attachment {attachment_id} does not exist", reason="attachment_missing",
                       params={"attachment_id": attachment_id})
    if row is None:
        raise missing
    _works, internal = _readable(session, request_facts.load(session, row.instance_id), actor)
    if row.visibility != CUSTOMER and not internal:
        raise missing
    store, key = settings.store, row.storage_key
    if not store.exists(key):
        raise NotFound(f"the content of attachment {attachment_id} ({row.filename}) is missing from the store",
                       reason="attachment_content_missing", params={"attachment_id": attachment_id,
                                                                    "filename": row.filename})
    return Download(row.id, row.filename, row.original_filename, served_type(row.content_type), row.size, row.sha256,
                    store.local_path(key), lambda: store.chunks(key))
