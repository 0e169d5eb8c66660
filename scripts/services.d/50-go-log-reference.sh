#!/usr/bin/env bash
# The release-log tests check vial's Merkle proofs and signed notes against Go's
# golang.org/x/mod/sumdb/{tlog,note} (tests/registry/log/gocheck): warm its module and build caches.
source "$(dirname "$0")/lib.sh"
have go || { echo "services: go toolchain not found (expected /usr/local/go/bin/go)" >&2; exit 1; }
cd "$(dirname "$0")/../../tests/registry/log/gocheck" || exit 1
GOFLAGS=-mod=readonly go build -o /dev/null . >/dev/null
