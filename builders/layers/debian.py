"""The ``debian`` builder: a root filesystem from Debian packages, with mmdebstrap.

Lock: mmdebstrap installs the requested packages from the mirror (apt checks the archive's
signature); vial records every installed package with the sha256 of its .deb, checked against the
signed Packages index, and keeps the .debs in the store.

Build: the locked .debs (fetched if absent, each checked against its sha256) become a local flat
repository that holds exactly those versions; mmdebstrap installs from it with SOURCE_DATE_EPOCH,
in a clean environment, so the same lock gives the same root filesystem. The tar is then repacked
by ``vial.builders.layers.tarball`` (sorted, clamped mtimes, no devices).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from vial.builders.layers.tarball import LayerBlob, entries_from_tar, write_layer
from vial.builders.lock.fetch import cache_file, fetch_locked
from vial.digest import sha256_file
from vial.errors import BuildError, ResolveError, ServiceError
from vial.lockfile import DebianPackage
from vial.progress import progress_logger
from vial.spec import Base
from vial.store import Store

_progress = progress_logger(__name__)

CLEAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Merged /usr set up by mmdebstrap's own hook (usr-is-merged), as debootstrap does for bookworm,
# instead of the usrmerge package, which pulls perl into every image: 25 % smaller, about 40 %
# faster (docs/decisions.md). Used when locking and when building, so both see the same set.
MERGED_USR_HOOK = "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr"
# Every option that shapes the root filesystem, for the layer cache key.
ROOTFS_OPTIONS = (MERGED_USR_HOOK, "--dpkgopt=force-unsafe-io")
# Host files mmdebstrap copies in that must not leak into an image (the runtime provides them).
HOST_FILES = ("etc/hostname", "etc/resolv.conf")


def _mmdebstrap_path() -> str:
    path = shutil.which("mmdebstrap", path=CLEAN_PATH)
    if path is None:
        raise ServiceError("mmdebstrap is not installed (run scripts/services.sh, or apt-get install mmdebstrap)")
    return path


def mmdebstrap_identity() -> str:
    """The exact mmdebstrap (a single script): its hash, for layer cache keys; cheaper than running it."""
    return "mmdebstrap-" + sha256_file(Path(_mmdebstrap_path()))[0]


def _clean_env(source_date_epoch: int) -> dict[str, str]:
    # The build must not depend on the caller's locale, time zone or umask (set in preexec).
    env = {
        "PATH": CLEAN_PATH,
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
        "SOURCE_DATE_EPOCH": str(source_date_epoch),
        "HOME": "/root",
    }
    if "TMPDIR" in os.environ:
        env["TMPDIR"] = os.environ["TMPDIR"]
    return env


def _run_mmdebstrap(args: list[str], source_date_epoch: int, what: str) -> None:
    process = subprocess.run(
        [_mmdebstrap_path(), *args],
        env=_clean_env(source_date_epoch),
        capture_output=True,
        text=True,
        preexec_fn=lambda: os.umask(0o022),
        check=False,
    )
    if process.returncode != 0:
        raise BuildError(f"{what}: mmdebstrap failed: {_explain(process.stderr)}")


def _explain(stderr: str) -> str:
    """The most telling line of apt/mmdebstrap's complaint."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for marker in ("Unable to locate package", "has no installation candidate", "Unmet dependencies", "E: "):
        for line in lines:
            if marker in line and "mmdebstrap failed" not in line and "setup failed" not in line:
                return line.removeprefix("E: ")
    return lines[-1] if lines else "no output"


def resolve(base: Base, packages: list[str], work: Path, log: Callable[[str], None] = _progress) -> list[DebianPackage]:
    """Install ``packages`` from the mirror once, and return every installed package, hash-locked."""
    debs, lists, status = work / "debs", work / "lists", work / "status"
    args = [
        f"--variant={base.variant}",
        f"--architectures={base.architecture}",
        MERGED_USR_HOOK,
        "--skip=download/empty",
        "--skip=essential/unlink",
        f"--customize-hook=sync-out /var/cache/apt/archives {debs}",
        f"--customize-hook=sync-out /var/lib/apt/lists {lists}",
        f"--customize-hook=copy-out /var/lib/dpkg/status {work}",
    ]
    if packages:
        args.append("--include=" + ",".join(packages))
    log(f"resolving Debian packages from {base.mirror} ({base.suite}, {base.variant})")
    try:
        _run_mmdebstrap([*args, base.suite, "/dev/null", base.mirror], 0, "vial.toml [system] packages")
    except BuildError as exc:
        raise ResolveError(str(exc).replace("mmdebstrap failed: ", "")) from None
    installed = _installed(status)
    index = _index_entries(lists, {name for name, _, _ in installed})
    locked: list[DebianPackage] = []
    for name, version, arch in installed:
        stanza = index.get((name, version, arch))
        if stanza is None:
            raise ResolveError(f"Debian package {name} {version} ({arch}) is installed but not in the mirror's index")
        deb = (
            debs
            / DebianPackage(
                name=name, version=version, architecture=arch, sha256="0" * 64, size=0, filename=""
            ).deb_name
        )
        if not deb.is_file():
            raise ResolveError(f"Debian package {name} {version}: no .deb was downloaded")
        digest, size = sha256_file(deb)
        if digest.split(":", 1)[1] != stanza["SHA256"]:
            raise ResolveError(f"{deb.name}: sha256 does not match the mirror's signed index")
        locked.append(
            DebianPackage(
                name=name,
                version=version,
                architecture=arch,
                sha256=stanza["SHA256"],
                size=size,
                filename=stanza["Filename"],
            )
        )
    return sorted(locked, key=lambda p: (p.name, p.architecture))


def store_debs(store: Store, work: Path, locked: list[DebianPackage]) -> None:
    """Keep the .debs that ``resolve`` downloaded in the store, so a build needs no network."""
    for package in locked:
        deb = work / "debs" / package.deb_name
        store.put_file(deb, expected=f"sha256:{package.sha256}")
        cache_file(deb, package.sha256)


def snapshot_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _installed(status: Path) -> list[tuple[str, str, str]]:
    from debian.deb822 import Deb822

    out = []
    with open(status, encoding="utf-8") as handle:
        for stanza in Deb822.iter_paragraphs(handle):
            if stanza.get("Status", "").endswith(" installed"):
                out.append((stanza["Package"], stanza["Version"], stanza["Architecture"]))
    return out


def _index_entries(lists: Path, names: set[str]) -> dict[tuple[str, str, str], Mapping[str, str]]:
    """Stanzas of the wanted packages from apt's Packages indexes (only those are parsed)."""
    from debian.deb822 import Packages

    found: dict[tuple[str, str, str], Mapping[str, str]] = {}
    for index in sorted(lists.glob("*_Packages")):
        text = index.read_text(encoding="utf-8", errors="replace")
        for block in text.split("\n\n"):
            if not block.startswith("Package: "):
                continue
            name = block[9 : block.find("\n")].strip()
            if name not in names:
                continue
            stanza = Packages(block)
            found[(stanza["Package"], stanza["Version"], stanza["Architecture"])] = stanza
    return found


def fetch_urls(base: Base, package: DebianPackage, snapshot: str | None) -> list[str]:
    urls = [f"{base.mirror.rstrip('/')}/{package.filename}"]
    if snapshot:
        # snapshot.debian.org keeps every version ever published: the lock stays buildable.
        urls.append(f"https://snapshot.debian.org/archive/debian/{snapshot}/{package.filename}")
    return urls


def build_layer(
    store: Store,
    base: Base,
    packages: list[str],
    locked: list[DebianPackage],
    snapshot: str | None,
    source_date_epoch: int,
    log: Callable[[str], None] = _progress,
) -> LayerBlob:
    """The root filesystem layer, from exactly the locked .debs."""
    for package in locked:
        fetch_locked(store, fetch_urls(base, package, snapshot), package.sha256, f"{package.name} {package.version}")
    with tempfile.TemporaryDirectory(prefix="vial-debian-", dir=store.tmp_dir) as tmp:
        work = Path(tmp)
        repo = work / "repo"
        repo.mkdir()
        for package in locked:
            # Each .deb is rehashed as it is copied: the repository holds only verified bytes.
            store.verify_blob(f"sha256:{package.sha256}", package.deb_name)
            shutil.copyfile(store.blob_path(f"sha256:{package.sha256}"), repo / package.deb_name)
        _index_repository(repo, base.suite)
        rootfs = work / "rootfs.tar"
        sources = f"deb {base.mirror} {base.suite} main"
        args = [
            f"--variant={base.variant}",
            f"--architectures={base.architecture}",
            MERGED_USR_HOOK,
            "--format=tar",
            # The image names the public mirror, not the temporary repository it was built from.
            f"--customize-hook=echo '{sources}' > \"$1/etc/apt/sources.list\"",
            "--customize-hook=rm -f " + " ".join(f'"$1/{path}"' for path in HOST_FILES),
            # No fsync inside a chroot that only lives to be packed (about 15 % faster); the option
            # file mmdebstrap writes for it is removed, and the root filesystem is byte-identical.
            "--dpkgopt=force-unsafe-io",
            '--customize-hook=rm -f "$1/etc/dpkg/dpkg.cfg.d/99mmdebstrap"',
        ]
        if packages:
            args.append("--include=" + ",".join(packages))
        log(f"installing {len(locked)} locked Debian packages with mmdebstrap")
        _run_mmdebstrap(
            [*args, base.suite, str(rootfs), f"deb [trusted=yes] copy://{repo} ./"],
            source_date_epoch,
            "Debian root filesystem",
        )
        log("packing the Debian layer")
        with tarfile.open(rootfs, "r:") as archive:
            return write_layer(store, entries_from_tar(archive), source_date_epoch)


def _index_repository(repo: Path, suite: str) -> None:
    """A flat apt repository (Packages + Release) over the .debs in ``repo``."""
    env = _clean_env(0)
    packages = subprocess.run(["apt-ftparchive", "packages", "."], cwd=repo, env=env, capture_output=True, check=False)
    if packages.returncode != 0:
        raise ServiceError(f"apt-ftparchive failed: {packages.stderr.decode(errors='replace').strip()}")
    (repo / "Packages").write_bytes(packages.stdout)
    release = subprocess.run(
        [
            "apt-ftparchive",
            "-o",
            f"APT::FTPArchive::Release::Suite={suite}",
            "-o",
            f"APT::FTPArchive::Release::Codename={suite}",
            "release",
            ".",
        ],
        cwd=repo,
        env=env,
        capture_output=True,
        check=False,
    )
    if release.returncode != 0:
        raise ServiceError(f"apt-ftparchive release failed: {release.stderr.decode(errors='replace').strip()}")
    (repo / "Release").write_bytes(release.stdout)
