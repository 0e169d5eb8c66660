"""Images on IPFS: pin an image's OCI layout as a UnixFS directory, pull it back verified.

* ``image_cid``: the CID of an image's OCI layout, computed locally (no node).
* ``export_car`` / ``import_car``: the image as a CAR file, and back into the store.
* ``pin``: to a Kubo node (``ipfs add`` with the profile's parameters; the node's CID must equal
  vial's, else the pin is refused and removed), or, with no node, a CAR beside the store.
* ``pull``: ``dag export`` from a node, streamed into the same checks as ``import_car``.

Import checks, before anything reaches the store: every block against its CID, the DAG shape,
the layout's entries, every OCI blob (index, manifest, config, layers) against its digest and
size (layers never written past their declared size), and that no block is left over. Only then
are the blobs added and the name tagged. CID <-> manifest digest
records are kept under ``<store>/records/cids/``.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from vial.digest import is_digest, sha256_bytes
from vial.errors import IntegrityError, NotFoundError
from vial.fsutil import TEMP_PREFIX, atomic_write_text, atomic_writer, fsync_dir
from vial.oci import ANNOTATION_REF_NAME, OCI_LAYOUT_FILE, Descriptor, ImageConfig, Index, Manifest
from vial.registry.ipfs.car import BlockFile, CarWriter, load_car
from vial.registry.ipfs.cid import CID
from vial.registry.ipfs.kubo import KuboClient
from vial.registry.ipfs.unixfs import DEFAULT_PROFILE, Importer, Profile, get_profile
from vial.registry.ipfs.unixfs_read import UnixFSReader, write_file_to
from vial.store import Store

LAYOUT_NAME = "layout"


@dataclass(frozen=True)
class CidRecord:
    cid: str
    manifest: str
    profile: str
    ref: str | None = None
    car: str | None = None
    node: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return asdict(self)


class CidRecords:
    """``<store>/records/cids/<cid>.json``: which manifest a CID holds (one small file per CID)."""

    def __init__(self, store: Store) -> None:
        self.dir = store.root / "records" / "cids"

    def put(self, record: CidRecord) -> None:
        atomic_write_text(
            self.dir / f"{record.cid}.json", json.dumps(record.to_json(), indent=2, sort_keys=True) + "\n"
        )

    def get(self, cid: CID | str) -> CidRecord | None:
        path = self.dir / f"{cid}.json"
        if not path.is_file():
            return None
        try:
            return CidRecord(**json.loads(path.read_text()))
        except (ValueError, TypeError):
            raise IntegrityError(f"{path}: malformed CID record") from None


@dataclass(frozen=True)
class PinResult:
    cid: CID
    manifest: str
    profile: str
    car: Path | None = None
    node: str | None = None


@dataclass(frozen=True)
class PullResult:
    cid: CID
    manifest: str
    ref: str | None


def _profile(profile: Profile | str) -> Profile:
    return get_profile(profile) if isinstance(profile, str) else profile


def _staged_layout(store: Store, ref: str, work: Path, attestations: bool = False) -> tuple[Path, str]:
    layout = work / LAYOUT_NAME
    extra = [r.descriptor for r in store.referrers(store.resolve(ref).digest)] if attestations else []
    image = store.export_layout(ref, layout, with_manifests=extra)
    return layout, image.digest


def image_cid(
    store: Store, ref: str, profile: Profile | str = DEFAULT_PROFILE, attestations: bool = False
) -> tuple[CID, str]:
    """(CID of the image's OCI layout as a UnixFS directory, manifest digest), computed locally.

    With ``attestations``, the layout also lists the image's referrers (its attestations), as
    ``pin``/``export_car`` with the same flag publish it.
    """
    with tempfile.TemporaryDirectory(prefix="vial-ipfs-") as work:
        layout, digest = _staged_layout(store, ref, Path(work), attestations)
        with Importer(_profile(profile)) as importer:
            return importer.add_path(layout).cid, digest


def write_car(source: Path, car: Path, profile: Profile | str = DEFAULT_PROFILE) -> CID:
    """Import ``source`` (file or directory) as UnixFS and write it as a CAR v1, atomically."""
    prof = _profile(profile)
    with atomic_writer(car) as handle:
        writer = CarWriter(handle, prof.cid_version)
        with Importer(prof, sink=writer) as importer:
            root = importer.add_path(source).cid
        writer.finish(root)
    return root


def export_car(
    store: Store, ref: str, car: Path, profile: Profile | str = DEFAULT_PROFILE, attestations: bool = False
) -> tuple[CID, str]:
    with tempfile.TemporaryDirectory(prefix="vial-ipfs-") as work:
        layout, digest = _staged_layout(store, ref, Path(work), attestations)
        return write_car(layout, car, profile), digest


PinMethod = Literal["add", "car"]


def _write_car_into(directory: Path, layout: Path, prof: Profile) -> tuple[CID, Path]:
    """Write ``<directory>/<cid>.car`` in one pass: a temporary file beside it, renamed when complete."""
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=TEMP_PREFIX + "car-", dir=directory)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w+b") as handle:
            writer = CarWriter(handle, prof.cid_version)
            with Importer(prof, sink=writer) as importer:
                cid = importer.add_path(layout).cid
            writer.finish(cid)
            handle.flush()
            os.fsync(handle.fileno())
        car = directory / f"{cid}.car"
        os.chmod(tmp, 0o644)
        os.replace(tmp, car)
        fsync_dir(directory)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return cid, car


def pin(
    store: Store,
    ref: str,
    client: KuboClient | None = None,
    profile: Profile | str = DEFAULT_PROFILE,
    car_dir: Path | None = None,
    method: PinMethod = "add",
    attestations: bool = False,
) -> PinResult:
    """Pin an image: to ``client``'s node, or (no node) as a CAR under ``car_dir`` (default ``<store>/cars``).

    ``method="add"`` sends the layout's files to the node's ``add`` (the node builds the DAG, which
    must give vial's CID); ``method="car"`` sends vial's own blocks as a CAR to ``dag import``, so
    the node's import settings do not matter.
    """
    prof = _profile(profile)
    records = CidRecords(store)
    image = store.image(ref)
    ref_name = image.descriptor.annotations.get(ANNOTATION_REF_NAME)
    with tempfile.TemporaryDirectory(prefix="vial-ipfs-") as work:
        layout, digest = _staged_layout(store, ref, Path(work), attestations)
        if client is None:
            cid, car = _write_car_into(car_dir or store.root / "cars", layout, prof)
            records.put(CidRecord(str(cid), digest, prof.name, ref_name, car=str(car)))
            return PinResult(cid, digest, prof.name, car=car)
        if method == "car":
            car_path = Path(work) / "image.car"
            expected = write_car(layout, car_path, prof)
            roots = client.dag_import(car_path, pin=True)
            if roots != [expected]:
                raise IntegrityError(
                    f"IPFS node {client.url} imported roots {roots}, expected {expected}; not recorded"
                )
        else:
            expected = add_checked(
                client, layout, prof, f"image {digest}", "not pinned", " (vial pin --via car sends vial's own blocks)"
            )
            client.pin_add(expected)
        records.put(CidRecord(str(expected), digest, prof.name, ref_name, node=client.url))
        return PinResult(expected, digest, prof.name, node=client.url)


def add_checked(client: KuboClient, path: Path, prof: Profile, what: str, refused: str, advice: str = "") -> CID:
    """Add ``path`` to the node (unpinned) and return its CID, only if it is the CID vial computes itself."""
    with Importer(prof) as importer:
        expected = importer.add_path(path).cid
    got = client.add_path(path, prof, pin=False)
    if got != expected:
        differ = client.import_settings_differ(prof)
        hint = f"; node settings differ: {'; '.join(differ)}" if differ else ""
        raise IntegrityError(
            f"IPFS node {client.url} computed {got} for {what}, vial computed {expected} "
            f"(profile {prof.name}); {refused}{hint}{advice}"
        )
    return expected


MAX_SMALL_FILE = 1 << 20  # oci-layout, index.json
MAX_JSON_BLOB = 16 << 20  # manifest, config


def _layout_files(files: dict[str, CID], what: str) -> dict[str, CID]:
    """The layout's blobs by digest, after checking that nothing else is in the tree."""
    blobs: dict[str, CID] = {}
    for path, cid in files.items():
        if path in ("oci-layout", "index.json"):
            continue
        parts = path.split("/")
        if len(parts) == 3 and parts[:2] == ["blobs", "sha256"] and is_digest("sha256:" + parts[2]):
            blobs["sha256:" + parts[2]] = cid
        else:
            raise IntegrityError(f"{what}: unexpected entry {path!r} in the OCI layout")
    for required in ("oci-layout", "index.json"):
        if required not in files:
            raise IntegrityError(f"{what}: OCI layout has no {required}")
    return blobs


def _read_json_blob(reader: UnixFSReader, blobs: dict[str, CID], descriptor: Descriptor, kind: str, what: str) -> bytes:
    if descriptor.digest not in blobs:
        raise IntegrityError(f"{what}: {kind} {descriptor.digest} is missing from the layout")
    if descriptor.size > MAX_JSON_BLOB:
        raise IntegrityError(f"{what}: {kind} {descriptor.digest} declares {descriptor.size} bytes, more than allowed")
    raw = reader.read_file(blobs[descriptor.digest], descriptor.size, f"{kind} {descriptor.digest}")
    actual = sha256_bytes(raw)
    if actual != descriptor.digest or len(raw) != descriptor.size:
        raise IntegrityError(f"{what}: {kind} {descriptor.digest}: content has digest {actual} and {len(raw)} bytes")
    return raw


_Referrer = tuple[Descriptor, bytes, list[tuple[Descriptor, bytes]]]  # (index entry, manifest, its blobs)


def _read_index(reader: UnixFSReader, files: dict[str, CID], what: str) -> Index:
    """The layout's marker and index.json: one image, listed first, then only referrers."""
    if reader.read_file(files["oci-layout"], MAX_SMALL_FILE, "oci-layout").strip() != OCI_LAYOUT_FILE:
        raise IntegrityError(f"{what}: oci-layout is not an OCI image layout 1.0.0 marker")
    index = Index.from_bytes(reader.read_file(files["index.json"], MAX_SMALL_FILE, "index.json"), f"{what}: index.json")
    if not index.manifests or index.manifests[0].artifact_type is not None:
        raise IntegrityError(f"{what}: index.json does not list an image first")
    if any(m.artifact_type is None for m in index.manifests[1:]):
        raise IntegrityError(f"{what}: index.json lists more than one image")
    return index


def _read_referrers(
    reader: UnixFSReader, blobs: dict[str, CID], entries: tuple[Descriptor, ...], top: Descriptor, what: str
) -> list[_Referrer]:
    """Referrers (attestations) listed after the image: small manifests whose subject is the image,
    each blob read (bounded by its descriptor) and checked."""
    referrers: list[_Referrer] = []
    for entry in entries:
        raw = _read_json_blob(reader, blobs, entry, "referrer", what)
        referrer = Manifest.from_bytes(raw, f"referrer {entry.digest}")
        if referrer.subject is None or referrer.subject.digest != top.digest:
            raise IntegrityError(f"{what}: referrer {entry.digest} is not about image {top.digest}")
        parts = [
            (d, _read_json_blob(reader, blobs, d, "referrer blob", what)) for d in (referrer.config, *referrer.layers)
        ]
        referrers.append((entry, raw, parts))
    return referrers


def _stage_layers(
    reader: UnixFSReader, blobs: dict[str, CID], manifest: Manifest, work: Path, what: str
) -> list[tuple[Path, Descriptor]]:
    """Write each layer under ``work``, checked against its digest and size (never past its size)."""
    staged: list[tuple[Path, Descriptor]] = []
    for layer in manifest.layers:
        if layer.digest not in blobs:
            raise IntegrityError(f"{what}: layer {layer.digest} is missing from the layout")
        target = work / layer.digest.split(":", 1)[1]
        if target.exists():
            continue  # the same layer listed twice
        written = write_file_to(reader, blobs[layer.digest], target, layer.size, f"layer {layer.digest}")
        if written.digest != layer.digest or written.size != layer.size:
            raise IntegrityError(
                f"{what}: layer {layer.digest}: content has digest {written.digest} and {written.size} bytes"
            )
        staged.append((target, layer))
    return staged


def import_blocks(store: Store, blocks: BlockFile, root: CID, what: str) -> PullResult:
    """Check the image in the DAG at ``root`` completely, then add it to the store."""
    reader = UnixFSReader(blocks, what)
    files = reader.files(root)
    blobs = _layout_files(files, what)
    index = _read_index(reader, files, what)
    top = index.manifests[0]
    manifest_raw = _read_json_blob(reader, blobs, top, "manifest", what)
    manifest = Manifest.from_bytes(manifest_raw, f"manifest {top.digest}")
    config_raw = _read_json_blob(reader, blobs, manifest.config, "config", what)
    config = ImageConfig.from_bytes(config_raw, f"config {manifest.config.digest}")
    if len(config.diff_ids) != len(manifest.layers):
        raise IntegrityError(f"image {top.digest}: {len(manifest.layers)} layers but {len(config.diff_ids)} diff_ids")
    referrers = _read_referrers(reader, blobs, index.manifests[1:], top, what)
    needed = {top.digest, manifest.config.digest, *(layer.digest for layer in manifest.layers)}
    for entry, _, parts in referrers:
        needed |= {entry.digest, *(d.digest for d, _ in parts)}
    extra = sorted(set(blobs) - needed)
    if extra:
        raise IntegrityError(f"{what}: blob {extra[0]} is not part of image {top.digest}")
    with tempfile.TemporaryDirectory(prefix="vial-pull-") as work:
        staged = _stage_layers(reader, blobs, manifest, Path(work), what)
        if reader.unused():
            raise IntegrityError(f"{what}: {reader.unused()} block(s) not reachable from root {root}")
        # Everything checked: only now does anything reach the store.
        for path, layer in staged:
            store.put_file(path, expected=layer.digest)
    store.put_bytes(config_raw, expected=manifest.config.digest)
    store.put_bytes(manifest_raw, expected=top.digest)
    name = top.annotations.get(ANNOTATION_REF_NAME)
    if name:
        store.tag(name, Descriptor(top.media_type, top.digest, top.size))
    for entry, raw, parts in referrers:
        for descriptor, data in parts:
            store.put_bytes(data, expected=descriptor.digest)
        store.put_bytes(raw, expected=entry.digest)
        store.add_to_index(entry)
    return PullResult(root, top.digest, name)


def import_car(store: Store, car: Path, expected: CID | None = None, profile: str | None = None) -> PullResult:
    """Read a CAR holding an image's OCI layout, check everything, add the image to the store."""
    car = Path(car)
    what = f"CAR {car}"
    try:
        handle = open(car, "rb")  # noqa: SIM115 - closed by the `with` below, once the missing file is reported
    except FileNotFoundError:
        raise NotFoundError(f"{car}: no such file") from None
    with handle, BlockFile() as blocks:
        root = load_car(handle, blocks, what, expected)
        result = import_blocks(store, blocks, root, what)
    CidRecords(store).put(CidRecord(str(root), result.manifest, profile or guess_profile(root), result.ref))
    return result


def guess_profile(cid: CID) -> str:
    return "unixfs-v0-2015" if cid.version == 0 else DEFAULT_PROFILE


@contextlib.contextmanager
def node_blocks(client: KuboClient, root: CID, what: str, prefix: str = "vial-pull-") -> Iterator[BlockFile]:
    """The DAG under ``root`` fetched from a node (``dag export``) into a temporary block store,
    every block checked against its CID and the CAR's root against ``root``."""
    with tempfile.TemporaryDirectory(prefix=prefix) as work:
        with client.dag_export_reader(root) as stream, BlockFile(Path(work)) as blocks:
            load_car(stream, blocks, what, expected=root)  # type: ignore[arg-type]
            yield blocks


def pull(store: Store, client: KuboClient, cid: CID | str) -> PullResult:
    """Fetch the DAG under ``cid`` from a node as a CAR, check it all, add the image to the store."""
    root = cid if isinstance(cid, CID) else CID.parse(cid)
    if root.codec != 0x70:
        raise IntegrityError(f"CID {root}: codec {root.codec_name}, expected a dag-pb UnixFS directory")
    what = f"DAG {root} from {client.url}"
    with node_blocks(client, root, what) as blocks:
        result = import_blocks(store, blocks, root, what)
    CidRecords(store).put(CidRecord(str(root), result.manifest, guess_profile(root), result.ref, node=client.url))
    return result


# -- CIDs as image references ----------------------------------------------------------------

CID_REF_PREFIXES = ("ipfs://", "/ipfs/", "cid:")


def parse_cid_ref(ref: str) -> CID | None:
    """The CID in ``ipfs://CID``, ``/ipfs/CID``, ``cid:CID`` or a bare dag-pb CID; else ``None``.

    A prefixed REF that is not a valid CID is an error; a bare string that is not one is simply
    not a CID reference (it may be a name).
    """
    for prefix in CID_REF_PREFIXES:
        if ref.startswith(prefix):
            return CID.parse(ref[len(prefix) :].strip("/"))
    if not (ref.startswith("Qm") and len(ref) == 46) and not ref.startswith("bafy"):
        return None
    try:
        cid = CID.parse(ref)
    except IntegrityError:
        return None
    return cid if cid.codec == 0x70 else None


def resolve_cid_ref(
    ref: str, workdir: Path, client: KuboClient | None = None, home: Store | None = None
) -> tuple[Store, str] | None:
    """Resolve an image REF that is a CID into a verified image in a temporary store.

    For a REF resolver (``resolver(ref, workdir)``): ``None`` when REF is not a CID; else the
    image is fetched and checked as ``pull`` does, into a store under ``workdir`` (the user's store
    is not touched), from ``client`` (default: ``$VIAL_IPFS_API``), or, without a node, from the
    CAR ``vial pin`` left beside ``home`` (default: the user's store). Returns (store, digest).
    """
    cid = parse_cid_ref(ref)
    if cid is None:
        return None
    store = Store(Path(workdir) / "ipfs-store")
    if client is None:
        from vial.registry.ipfs.kubo import client_from_env

        client = client_from_env()
        if client is not None:
            with client:
                return store, pull(store, client, cid).manifest
    else:
        return store, pull(store, client, cid).manifest
    home = home if home is not None else Store()
    car = home.root / "cars" / f"{cid}.car"
    if not car.is_file():
        raise NotFoundError(f"{ref}: no IPFS node configured ($VIAL_IPFS_API) and no pinned CAR {car}")
    return store, import_car(store, car, expected=cid).manifest
