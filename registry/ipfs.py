"""Images on IPFS: pin an image's OCI layout as a UnixFS directory, pull it back verified.

* ``image_cid``: the CID of an image's OCI layout, computed locally (no node).
* ``export_car`` / ``import_car``: the image as a CAR file, and back into the store.
* ``pin``: to a Kubo node (``ipfs add`` with the profile's parameters; the node's CID must equal
  vial's, else the pin is refused and removed), or, with no node, a CAR beside the store.
* ``pull``: ``dag export`` from a node into a temporary CAR, then as ``import_car``.

Import checks, before anything reaches the store: every block against its CID, the DAG shape,
that no block is left over, then every OCI blob (index, manifest, config, layers) against its
digest and size. Only then are the blobs added and the name tagged. CID <-> manifest digest
records are kept under ``<store>/records/cids/``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from vial.digest import is_digest
from vial.errors import IntegrityError, NotFoundError
from vial.fsutil import atomic_write_text, atomic_writer
from vial.oci import ANNOTATION_REF_NAME, OCI_LAYOUT_FILE, Descriptor, ImageConfig, Index, Manifest
from vial.registry.car import BlockFile, CarWriter, load_car
from vial.registry.cid import CID
from vial.registry.kubo import KuboClient
from vial.registry.store import Store
from vial.registry.unixfs import DEFAULT_PROFILE, Importer, Profile, get_profile
from vial.registry.unixfs_export import Materializer

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
        atomic_write_text(self.dir / f"{record.cid}.json", json.dumps(record.to_json(), indent=2, sort_keys=True) + "\n")

    def get(self, cid: CID | str) -> CidRecord | None:
        path = self.dir / f"{cid}.json"
        if not path.is_file():
            return None
        try:
            return CidRecord(**json.loads(path.read_text()))
        except (ValueError, TypeError):
            raise IntegrityError(f"{path}: malformed CID record") from None

    def for_manifest(self, digest: str) -> list[CidRecord]:
        if not self.dir.is_dir():
            return []
        found = []
        for path in sorted(self.dir.glob("*.json")):
            record = self.get(path.stem)
            if record is not None and record.manifest == digest:
                found.append(record)
        return found


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


def _staged_layout(store: Store, ref: str, work: Path) -> tuple[Path, str]:
    layout = work / LAYOUT_NAME
    image = store.export_layout(ref, layout)
    return layout, image.digest


def image_cid(store: Store, ref: str, profile: Profile | str = DEFAULT_PROFILE) -> tuple[CID, str]:
    """(CID of the image's OCI layout as a UnixFS directory, manifest digest), computed locally."""
    with tempfile.TemporaryDirectory(prefix="vial-ipfs-") as work:
        layout, digest = _staged_layout(store, ref, Path(work))
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


def export_car(store: Store, ref: str, car: Path, profile: Profile | str = DEFAULT_PROFILE) -> tuple[CID, str]:
    with tempfile.TemporaryDirectory(prefix="vial-ipfs-") as work:
        layout, digest = _staged_layout(store, ref, Path(work))
        return write_car(layout, car, profile), digest


def pin(store: Store, ref: str, client: KuboClient | None = None, profile: Profile | str = DEFAULT_PROFILE,
        car_dir: Path | None = None) -> PinResult:
    """Pin an image: to ``client``'s node, or (no node) as a CAR under ``car_dir`` (default ``<store>/cars``)."""
    prof = _profile(profile)
    records = CidRecords(store)
    image = store.image(ref)
    ref_name = image.descriptor.annotations.get(ANNOTATION_REF_NAME)
    with tempfile.TemporaryDirectory(prefix="vial-ipfs-") as work:
        layout, digest = _staged_layout(store, ref, Path(work))
        if client is None:
            directory = car_dir or store.root / "cars"
            tmp_car = Path(work) / "image.car"
            cid = write_car(layout, tmp_car, prof)
            directory.mkdir(parents=True, exist_ok=True)
            car = directory / f"{cid}.car"
            with atomic_writer(car) as out, open(tmp_car, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
            records.put(CidRecord(str(cid), digest, prof.name, ref_name, car=str(car)))
            return PinResult(cid, digest, prof.name, car=car)
        with Importer(prof) as importer:
            expected = importer.add_path(layout).cid
        got = client.add_path(layout, prof, pin=False)
        if got != expected:
            differ = client.import_settings_differ(prof)
            hint = f"; node settings differ: {'; '.join(differ)}" if differ else ""
            raise IntegrityError(
                f"IPFS node {client.url} computed {got} for image {digest}, vial computed {expected} "
                f"(profile {prof.name}); not pinned{hint}"
            )
        client.pin_add(expected)
        records.put(CidRecord(str(expected), digest, prof.name, ref_name, node=client.url))
        return PinResult(expected, digest, prof.name, node=client.url)


def _check_blob(layout: Path, descriptor: Descriptor, digests: dict[Path, tuple[str, int]], what: str) -> Path:
    if not is_digest(descriptor.digest):
        raise IntegrityError(f"{what}: not a sha256 digest: {descriptor.digest!r}")
    path = layout / "blobs" / "sha256" / descriptor.digest.split(":", 1)[1]
    if path not in digests:
        raise IntegrityError(f"{what} {descriptor.digest}: blob is missing from the layout")
    digest, size = digests[path]
    if digest != descriptor.digest:
        raise IntegrityError(f"{what} {descriptor.digest}: content has digest {digest}")
    if size != descriptor.size:
        raise IntegrityError(f"{what} {descriptor.digest}: {size} bytes, descriptor says {descriptor.size}")
    return path


def import_layout(store: Store, layout: Path, digests: dict[Path, tuple[str, int]], what: str) -> tuple[str, str | None]:
    """Check an OCI layout (files already hashed into ``digests``), then add its image to the store."""
    if (layout / "oci-layout").is_file() is False or (layout / "oci-layout").read_bytes().strip() != OCI_LAYOUT_FILE:
        raise IntegrityError(f"{what}: not an OCI image layout (oci-layout file missing or unexpected)")
    index_path = layout / "index.json"
    if not index_path.is_file():
        raise IntegrityError(f"{what}: OCI layout has no index.json")
    index = Index.from_bytes(index_path.read_bytes(), f"{what}: index.json")
    if len(index.manifests) != 1:
        raise IntegrityError(f"{what}: index.json lists {len(index.manifests)} images, expected one")
    top = index.manifests[0]
    manifest_path = _check_blob(layout, top, digests, "manifest")
    manifest = Manifest.from_bytes(manifest_path.read_bytes(), f"manifest {top.digest}")
    config_path = _check_blob(layout, manifest.config, digests, "config")
    config = ImageConfig.from_bytes(config_path.read_bytes(), f"config {manifest.config.digest}")
    if len(config.diff_ids) != len(manifest.layers):
        raise IntegrityError(f"image {top.digest}: {len(manifest.layers)} layers but {len(config.diff_ids)} diff_ids")
    layer_paths = [(_check_blob(layout, layer, digests, "layer"), layer) for layer in manifest.layers]
    # Everything checked: only now does anything reach the store.
    for path, layer in layer_paths:
        store.put_file(path, expected=layer.digest)
    store.put_file(config_path, expected=manifest.config.digest)
    store.put_file(manifest_path, expected=top.digest)
    name = top.annotations.get(ANNOTATION_REF_NAME)
    if name:
        store.tag(name, Descriptor(top.media_type, top.digest, top.size))
    return top.digest, name


def _import_blocks(store: Store, blocks: BlockFile, root: CID, what: str) -> PullResult:
    with tempfile.TemporaryDirectory(prefix="vial-pull-") as work:
        layout = Path(work) / LAYOUT_NAME
        materializer = Materializer(blocks, what)
        materializer.run(root, layout)
        digest, name = import_layout(store, layout, materializer.file_digests, what)
    return PullResult(root, digest, name)


def import_car(store: Store, car: Path, expected: CID | None = None, profile: str | None = None) -> PullResult:
    """Read a CAR holding an image's OCI layout, check everything, add the image to the store."""
    car = Path(car)
    what = f"CAR {car}"
    try:
        handle = open(car, "rb")
    except FileNotFoundError:
        raise NotFoundError(f"{car}: no such file") from None
    with handle, BlockFile() as blocks:
        root = load_car(handle, blocks, what, expected)
        result = _import_blocks(store, blocks, root, what)
    CidRecords(store).put(CidRecord(str(root), result.manifest, profile or _guess_profile(root), result.ref))
    return result


def _guess_profile(cid: CID) -> str:
    return "unixfs-v0-2015" if cid.version == 0 else DEFAULT_PROFILE


def pull(store: Store, client: KuboClient, cid: CID | str) -> PullResult:
    """Fetch the DAG under ``cid`` from a node as a CAR, check it all, add the image to the store."""
    root = cid if isinstance(cid, CID) else CID.parse(cid)
    if root.codec != 0x70:
        raise IntegrityError(f"CID {root}: codec {root.codec_name}, expected a dag-pb UnixFS directory")
    what = f"DAG {root} from {client.url}"
    with tempfile.TemporaryDirectory(prefix="vial-pull-") as work:
        with client.dag_export_reader(root) as stream, BlockFile(Path(work)) as blocks:
            load_car(stream, blocks, what, expected=root)  # type: ignore[arg-type]
            result = _import_blocks(store, blocks, root, what)
    CidRecords(store).put(CidRecord(str(root), result.manifest, _guess_profile(root), result.ref, node=client.url))
    return result
