#!/usr/bin/env bash
# cosign, built from its Go module at a pinned release: the interop tests check that cosign accepts
# vial's key-signed bundles and that vial accepts cosign's. GOPATH/GOCACHE come from services.sh, so a
# warm run finds the binary (and the build cache) and returns at once.
source "$(dirname "$0")/lib.sh"
COSIGN_VERSION="v2.6.5"
bin="${GOPATH:-/root/go}/bin/cosign"
if [[ -x "$bin" ]] && "$bin" version 2>/dev/null | grep -Eq "GitVersion:[[:space:]]+${COSIGN_VERSION}\$"; then
  exit 0
fi
have go || { echo "services: cosign: the Go toolchain is not installed" >&2; exit 1; }
echo "services: building cosign ${COSIGN_VERSION} from its Go module (first run only)" >&2
go install "github.com/sigstore/cosign/v2/cmd/cosign@${COSIGN_VERSION}" || exit 1
"$bin" version >/dev/null 2>&1
