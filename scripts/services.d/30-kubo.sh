#!/usr/bin/env bash
# Kubo (the `ipfs` command) at a pinned release, built from its Go module, and one daemon for the
# demo and manual use: its own repo under $VIAL_SERVICES_DIR/ipfs, API/gateway/swarm on 127.0.0.1
# only, no bootstrap peers, no public routing (Routing.Type=none), no MDNS.
# Tests start their own nodes (tests/registry/ipfs/conftest.py); they only need the binary.
#
# Why not `go install github.com/ipfs/kubo/cmd/ipfs@VERSION`: that form also looks up the module's
# deprecation notice in the proxy's version list, which the proxy here refuses (403). Building the
# same package from a tiny module that requires the pinned version gives the same binary.
source "$(dirname "$0")/lib.sh"
apt_install curl busybox-static || exit 1  # busybox-static: a runnable one-layer test image
KUBO_VERSION="v0.41.0"   # IPIP-499 import profiles (unixfs-v1-2025, unixfs-v0-2015) need >= v0.40
KUBO_API_PORT="${VIAL_KUBO_API_PORT:-5001}"
KUBO_GATEWAY_PORT="${VIAL_KUBO_GATEWAY_PORT:-8089}"
KUBO_SWARM_PORT="${VIAL_KUBO_SWARM_PORT:-4011}"

want="${KUBO_VERSION#v}"
if ! { have ipfs && [[ "$(ipfs version --number 2>/dev/null)" == "$want" ]]; }; then
  have go || { echo "services: kubo: Go is needed to build kubo $KUBO_VERSION" >&2; exit 1; }
  build="$VIAL_SERVICES_DIR/kubo-build"
  mkdir -p "$build"
  (
    cd "$build" || exit 1
    [[ -f go.mod ]] || go mod init vial-services/kubo >/dev/null 2>&1 || exit 1
    go mod edit -require="github.com/ipfs/kubo@$KUBO_VERSION" &&
      go install github.com/ipfs/kubo/cmd/ipfs
  ) >"$VIAL_SERVICES_DIR/kubo-build.log" 2>&1 || { tail -5 "$VIAL_SERVICES_DIR/kubo-build.log" >&2; exit 1; }
  [[ "$(ipfs version --number 2>/dev/null)" == "$want" ]] || { echo "services: kubo: built binary is not $want" >&2; exit 1; }
fi

export IPFS_PATH="$VIAL_SERVICES_DIR/ipfs"
api="http://127.0.0.1:$KUBO_API_PORT/api/v0"
if curl -fsS -X POST "$api/id" >/dev/null 2>&1; then exit 0; fi
if [[ ! -f "$IPFS_PATH/config" ]]; then
  ipfs init --profile=test,unixfs-v1-2025 >/dev/null || exit 1
  ipfs config Routing.Type none
  ipfs config --json Swarm.RelayClient.Enabled false
  ipfs config --json Swarm.RelayService.Enabled false
  ipfs config Addresses.API "/ip4/127.0.0.1/tcp/$KUBO_API_PORT"
  ipfs config Addresses.Gateway "/ip4/127.0.0.1/tcp/$KUBO_GATEWAY_PORT"
  ipfs config --json Addresses.Swarm "[\"/ip4/127.0.0.1/tcp/$KUBO_SWARM_PORT\"]"
fi
nohup ipfs daemon --enable-gc=false >"$VIAL_SERVICES_DIR/kubo.log" 2>&1 &
if ! wait_for 60 curl -fsS -X POST "$api/id"; then
  # The tests start their own nodes and need only the binary: a demo daemon that cannot start
  # (port taken) is reported, not fatal.
  echo "services: kubo: demo daemon did not start on 127.0.0.1:$KUBO_API_PORT (see $VIAL_SERVICES_DIR/kubo.log)" >&2
  exit 0
fi
echo "services: kubo $want: VIAL_IPFS_API=http://127.0.0.1:$KUBO_API_PORT"
