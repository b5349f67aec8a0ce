"""Report files under the data dir, and the signed, expiring download URLs that serve them without a token.

A URL carries `expires` (Unix seconds) and `signature` = hex HMAC-SHA256 of `<report id>:<expires>` under the
server secret: `WHOLESALE_SECRET_KEY` when set, else a random key created once in `<data dir>/secret_key`
(mode 0600; every process sharing the data dir, which serves the files anyway, reads the same one).
"""

import hashlib
import hmac
import os
import secrets
from pathlib import Path
from urllib.parse import urlencode

from wholesale.config import get_settings
from wholesale.kit import clock
from wholesale.kit.errors import Forbidden

URL_LIFETIME_SECONDS = 3600
_cached_key: tuple[str, bytes] | None = None


def reports_dir() -> Path:
    """Where report files live (created on first use)."""
    path = Path(get_settings().data_dir) / "billing"
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_path(file_name: str) -> Path:
    """A report file's path."""
    return reports_dir() / file_name


def write_file(file_name: str, content: bytes) -> None:
    """Write a report file atomically (a reader never sees half of one)."""
    target = file_path(file_name)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    temporary.write_bytes(content)
    os.replace(temporary, target)


def delete_file(file_name: str | None) -> None:
    """Remove a report file if it exists."""
    if file_name:
        file_path(file_name).unlink(missing_ok=True)


def secret_key() -> bytes:
    """The signing key: the configured one, else the data dir's (created once, atomically)."""
    global _cached_key
    settings = get_settings()
    if settings.secret_key:
        return settings.secret_key.encode()
    key_file = Path(settings.data_dir) / "secret_key"
    if _cached_key is not None and _cached_key[0] == str(key_file):
        return _cached_key[1]
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: use theirs
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
    key = key_file.read_text().strip().encode()
    if not key:
        raise RuntimeError(f"{key_file} is empty: remove it or set WHOLESALE_SECRET_KEY")
    _cached_key = (str(key_file), key)
    return key


def sign(report_id: str, expires: int) -> str:
    """The signature of a report's download URL."""
    return hmac.new(secret_key(), f"{report_id}:{expires}".encode(), hashlib.sha256).hexdigest()


def download_url(base: str, report_id: str, lifetime: int = URL_LIFETIME_SECONDS) -> str:
    """A URL that downloads the report's CSV without a token until it expires."""
    expires = int(clock.now().timestamp()) + lifetime
    query = urlencode({"expires": expires, "signature": sign(report_id, expires)})
    return f"{base}/v1/wholesale/billing/reports/{report_id}/download?{query}"


def check(report_id: str, expires: str | None, signature: str | None) -> None:
    """Refuse (403) a download URL that was altered or has expired."""
    try:
        when = int(expires or "")
    except ValueError:
        raise Forbidden("The download link is not valid: ask for the report again.") from None
    if not signature or not hmac.compare_digest(sign(report_id, when), signature):
        raise Forbidden("The download link is not valid: ask for the report again.")
    if clock.now().timestamp() >= when:
        raise Forbidden("The download link has expired: GET the report for a new tempDownloadURL.")
