#!/usr/bin/env bash
# A real Docker engine (Debian docker.io), started on its unix socket only.
# --bridge=none: no docker0 bridge or private-range network is created; vial runs containers
# with networking off, and the benchmark builds with --network=none.
source "$(dirname "$0")/lib.sh"
apt_install docker.io || exit 1
if ! docker -H unix:///var/run/docker.sock info >/dev/null 2>&1; then
  is_root || { echo "services: dockerd is not running and needs root to start" >&2; exit 1; }
  nohup dockerd --host unix:///var/run/docker.sock --bridge=none --iptables=false --ip-masq=false \
    >"$VIAL_SERVICES_DIR/dockerd.log" 2>&1 &
  wait_for 60 docker -H unix:///var/run/docker.sock info || { tail -5 "$VIAL_SERVICES_DIR/dockerd.log" >&2; exit 1; }
fi
