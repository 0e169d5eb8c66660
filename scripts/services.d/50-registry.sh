#!/usr/bin/env bash
# An OCI registry on loopback (Debian's docker-registry, distribution 2.8: no referrers API, so vial
# uses the referrers tag schema there) and skopeo, which the tests use to read what vial pushed;
# busybox-static gives the tests a runnable one-layer image to push, pull and run.
# Started with its own config and storage under $VIAL_SERVICES_DIR/registry (not systemd), on
# 127.0.0.1:$VIAL_REGISTRY_PORT (default 5055). Idempotent: a registry already answering is kept.
# The tests start their own registry per session from the same binary; this one is for the demo
# and for trying `vial push REF oci://127.0.0.1:5055/NAME:TAG` by hand.
source "$(dirname "$0")/lib.sh"
apt_install docker-registry skopeo busybox-static || exit 1
have docker-registry && have skopeo || exit 1
port="${VIAL_REGISTRY_PORT:-5055}"
dir="$VIAL_SERVICES_DIR/registry"
up() { curl -fsS -o /dev/null "http://127.0.0.1:$port/v2/" 2>/dev/null; }
have curl || apt_install curl || exit 1
up && exit 0
mkdir -p "$dir/storage"
cat >"$dir/config.yml" <<CONFIG
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
CONFIG
nohup docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
echo $! >"$dir/registry.pid"
wait_for 30 up || { echo "services: registry: not answering on 127.0.0.1:$port" >&2; tail -5 "$dir/registry.log" >&2; exit 1; }
