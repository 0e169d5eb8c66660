#!/usr/bin/env bash
# IPFS Cluster (ipfs-cluster-service, ipfs-cluster-ctl) at a pinned release, built from its Go
# module. Its Pinning Service API serves vial's remote-pinning test; the test starts its own peer
# (crdt, single peer, every listener on 127.0.0.1, MDNS off) driving its own Kubo node.
#
# Build notes, both for this workplace's Go 1.26 and module proxy:
# - cockroachdb/swiss as required by v1.1.5 refuses Go >= 1.26 (runtime introspection guarded by
#   build tags); the newer pseudo-version below allows it, and Go's minimal version selection
#   takes it when the wrapper module requires it.
# - the checksum database has no record of several of the cluster's modules (404), so this one
#   build runs with GOSUMDB=off; modules still come from the Go module proxy, and the versions
#   are pinned here.
source "$(dirname "$0")/lib.sh"
CLUSTER_VERSION="v1.1.5"
SWISS_VERSION="v0.0.0-20251224182025-b0f6560f979b"

want="${CLUSTER_VERSION#v}"
if have ipfs-cluster-service && ipfs-cluster-service --version 2>/dev/null | grep -q "$want" && have ipfs-cluster-ctl; then
  exit 0
fi
have go || { echo "services: ipfs-cluster: Go is needed to build ipfs-cluster $CLUSTER_VERSION" >&2; exit 1; }
build="$VIAL_SERVICES_DIR/ipfs-cluster-build"
mkdir -p "$build"
(
  cd "$build" || exit 1
  [[ -f go.mod ]] || go mod init vial-services/ipfs-cluster >/dev/null 2>&1 || exit 1
  go mod edit -require="github.com/ipfs-cluster/ipfs-cluster@$CLUSTER_VERSION" \
    -require="github.com/cockroachdb/swiss@$SWISS_VERSION" &&
    GOSUMDB=off go install github.com/ipfs-cluster/ipfs-cluster/cmd/ipfs-cluster-service \
      github.com/ipfs-cluster/ipfs-cluster/cmd/ipfs-cluster-ctl
) >"$VIAL_SERVICES_DIR/ipfs-cluster-build.log" 2>&1 || { tail -5 "$VIAL_SERVICES_DIR/ipfs-cluster-build.log" >&2; exit 1; }
ipfs-cluster-service --version 2>/dev/null | grep -q "$want" || { echo "services: ipfs-cluster: built binary is not $want" >&2; exit 1; }
