"""vial.registry.ipfs: CIDs computed locally (dag-pb, UnixFS), CAR files, the Kubo RPC client, IPNS, the Pinning Service API, and images pinned and pulled verified."""
