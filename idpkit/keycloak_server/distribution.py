"""The pinned Keycloak distribution: fetched once from Maven Central, verified, cached, unpacked."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import requests

from idpkit import paths
from idpkit.console import Reporter
from idpkit.errors import IdpkitError
from idpkit.keycloak_server import release

_CHUNK = 1 << 20
# Room for the archive, a temporary copy and the unpacked server.
_REQUIRED_FREE_BYTES = 700 * 1024 * 1024


def cached_archive() -> Path:
    return paths.cache_dir() / release.ARCHIVE_NAME


def ensure_archive(reporter: Reporter) -> Path:
    """The verified archive in the cache, downloading it first when it is missing or corrupt."""
    archive = cached_archive()
    if archive.exists():
        if sha512_of(archive) == release.SHA512:
            return archive
        reporter.note(f"cached {archive.name} fails its checksum: fetching it again")
        archive.unlink()
    archive.parent.mkdir(parents=True, exist_ok=True)
    _require_free_space(archive.parent)
    with tempfile.TemporaryDirectory(dir=archive.parent, prefix=".download-") as scratch:
        if shutil.which("mvn"):
            fetched = _fetch_with_maven(Path(scratch), reporter)
        else:
            fetched = _fetch_over_https(Path(scratch), reporter)
        actual = sha512_of(fetched)
        if actual != release.SHA512:
            raise IdpkitError(
                f"{release.ARCHIVE_NAME}: SHA-512 mismatch (expected {release.SHA512[:16]}…, "
                f"got {actual[:16]}…); the download was discarded",
                hint="retry; if it persists, the mirror or a proxy is serving a different file",
            )
        fetched.replace(archive)
    return archive


def unpack(archive: Path, destination: Path, reporter: Reporter) -> Path:
    """Unpack the server into `destination`/keycloak (replacing any previous copy); returns that path."""
    target = destination / "keycloak"
    staging = destination / ".keycloak-unpacking"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with reporter.step(f"unpacking Keycloak {release.VERSION}"), tarfile.open(archive) as tar:
        tar.extractall(staging, filter="data")
    shutil.rmtree(target, ignore_errors=True)
    (staging / release.DIST_DIRECTORY).replace(target)
    staging.rmdir()
    return target


def sha512_of(path: Path) -> str:
    digest = hashlib.sha512()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch_with_maven(scratch: Path, reporter: Reporter) -> Path:
    command = [
        "mvn", "--batch-mode", "--quiet", "dependency:copy",
        f"-Dartifact={release.MAVEN_COORDINATES}", f"-DoutputDirectory={scratch}",
    ]  # fmt: skip
    with reporter.step(f"fetching {release.MAVEN_COORDINATES} with Maven"):
        completed = subprocess.run(command, capture_output=True, text=True, check=False, cwd=scratch)
    fetched = scratch / release.ARCHIVE_NAME
    if completed.returncode != 0 or not fetched.exists():
        detail = (completed.stdout + completed.stderr).strip().splitlines()[-5:]
        raise IdpkitError(f"Maven could not fetch {release.MAVEN_COORDINATES}: {' '.join(detail)}")
    return fetched


def _fetch_over_https(scratch: Path, reporter: Reporter) -> Path:
    fetched = scratch / release.ARCHIVE_NAME
    try:
        with requests.get(release.DOWNLOAD_URL, stream=True, timeout=60) as response:
            response.raise_for_status()
            total = int(response.headers.get("Content-Length", 0)) or None
            with reporter.download(f"downloading {release.ARCHIVE_NAME}", total) as advance, fetched.open("wb") as out:
                for chunk in response.iter_content(_CHUNK):
                    out.write(chunk)
                    advance(len(chunk))
    except requests.RequestException as error:
        raise IdpkitError(f"download of {release.DOWNLOAD_URL} failed: {error}") from error
    return fetched


def _require_free_space(directory: Path) -> None:
    free = shutil.disk_usage(directory).free
    if free < _REQUIRED_FREE_BYTES:
        raise IdpkitError(
            f"not enough disk space in {directory}: {free // 2**20} MiB free, "
            f"{_REQUIRED_FREE_BYTES // 2**20} MiB needed for the Keycloak distribution",
            hint="free space there, or point IDPKIT_CACHE_DIR at a larger disk",
        )
