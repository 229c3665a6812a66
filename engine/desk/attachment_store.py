"""Where attachment bytes live: a directory or an S3-compatible bucket, content addressed by sha256.

An upload is first spooled to a local temporary file in chunks (hashed and counted as it goes, refused past
the limit, never held whole in memory); engine.desk.attachments checks its type there, then the store keeps
it under its sha256 (the same bytes twice are kept once) and streams it back in chunks.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from engine.errors import TooLarge

CHUNK = 64 * 1024
HEAD = 8 * 1024  # what the type check reads of a file
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# S3 credentials: these, else boto3's own chain (AWS_ACCESS_KEY_ID …, an instance role).
S3_KEY_SETTINGS = ("OPSFLOW_S3_ACCESS_KEY_ID", "OPSFLOW_S3_SECRET_ACCESS_KEY")


@dataclass(frozen=True)
class Spooled:
    """An upload on local disk: its path, size, sha256 and first bytes."""

    path: Path
    size: int
    sha256: str
    head: bytes


class AttachmentStore(Protocol):
    """A place to keep files by their sha256."""

    spool_dir: Path | None  # where uploads are spooled (the store's own directory: a rename keeps them)

    def keep(self, spooled: Spooled) -> str:
        """Keep the spooled file; its storage key."""

    def chunks(self, key: str) -> Iterator[bytes]:
        """The kept file, in chunks."""

    def local_path(self, key: str) -> Path | None:
        """The kept file's path, where the store is a directory (so the web can send it as a file)."""

    def exists(self, key: str) -> bool: ...


@contextmanager
def spool(source: IO[bytes], *, max_bytes: int, name: str, directory: Path | None = None) -> Iterator[Spooled]:
    """Copy an upload to a temporary file in chunks, hashing it; refuse it as soon as it passes max_bytes.
    The temporary file is removed afterwards unless a store has taken it."""
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
    handle, raw_path = tempfile.mkstemp(prefix=".upload-", dir=directory)
    path = Path(raw_path)
    try:
        digest, size, head = hashlib.sha256(), 0, b""
        with os.fdopen(handle, "wb") as target:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge(f"{name} is larger than the limit of {max_bytes} bytes",
                                   reason="attachment_too_large",
                                   params={"filename": name, "limit": max_bytes, "limit_size": size_text(max_bytes)})
                if len(head) < HEAD:
                    head += chunk[:HEAD - len(head)]
                digest.update(chunk)
                target.write(chunk)
        yield Spooled(path, size, digest.hexdigest(), head)
    finally:
        path.unlink(missing_ok=True)


def size_text(size: int) -> str:
    """A size as people read it: bytes, KB or MB (binary units, as the limits are set)."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB".replace(".0 ", " ")
    return f"{size / (1024 * 1024):.1f} MB".replace(".0 ", " ")


def _checked(key: str) -> str:
    if not _SHA256.match(key):
        raise ValueError(f"not a storage key: {key!r}")
    return key


class DiskStore:
    """Files under a directory, as <sha[:2]>/<sha[2:4]>/<sha>; written to a temporary file there, then renamed,
    so a reader never sees half a file."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.spool_dir: Path | None = self.directory / "tmp"

    def _path(self, key: str) -> Path:
        key = _checked(key)
        return self.directory / key[:2] / key[2:4] / key

    def keep(self, spooled: Spooled) -> str:
        target = self._path(spooled.sha256)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(spooled.path, target)
        return spooled.sha256

    def chunks(self, key: str) -> Iterator[bytes]:
        with self._path(key).open("rb") as source:
            while chunk := source.read(CHUNK):
                yield chunk

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()


class S3Store:
    """Files in an S3-compatible bucket (AWS, MinIO, Ceph …) under <prefix><sha[:2]>/<sha>; uploaded from the
    spooled file in parts by boto3, read back as a stream of chunks."""

    def __init__(self, *, bucket: str, endpoint: str | None = None, region: str | None = None,
                 prefix: str = "attachments/", client: Any = None, env: dict[str, str] | None = None):
        self.bucket, self.prefix = bucket, prefix
        self.spool_dir: Path | None = None  # the system's temporary directory
        if client is None:
            import boto3  # only where S3 is configured

            environ = os.environ if env is None else env
            key_id, secret = (environ.get(name) or None for name in S3_KEY_SETTINGS)
            client = boto3.client("s3", endpoint_url=endpoint or None, region_name=region or None,
                                  aws_access_key_id=key_id, aws_secret_access_key=secret)
        self.client = client

    def _key(self, key: str) -> str:
        key = _checked(key)
        return f"{self.prefix}{key[:2]}/{key}"

    def keep(self, spooled: Spooled) -> str:
        if not self.exists(spooled.sha256):
            self.client.upload_file(str(spooled.path), self.bucket, self._key(spooled.sha256),
                                    ExtraArgs={"ContentType": "application/octet-stream"})
        return spooled.sha256

    def chunks(self, key: str) -> Iterator[bytes]:
        body = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()

    def local_path(self, key: str) -> Path | None:
        return None

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True


def open_store(*, directory: Path | str, s3_bucket: str | None = None, s3_endpoint: str | None = None,
               s3_region: str | None = None) -> AttachmentStore:
    """The store the settings name: a bucket where OPSFLOW_S3_BUCKET is set, else the directory."""
    if s3_bucket:
        return S3Store(bucket=s3_bucket, endpoint=s3_endpoint, region=s3_region)
    return DiskStore(Path(directory))
