#!/usr/bin/env bash
# Install and start the real services vial's tests and demo use, idempotently.
# Each service has a script in scripts/services.d/ (run in name order). Safe to run again:
# what is installed is not reinstalled, what runs is not restarted.
#
# As root on Debian it installs what is missing (apt, go install). Otherwise it reports what is
# missing and exits non-zero only when CI=true (in CI a missing service is a failure, never a skip).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export VIAL_SERVICES_DIR="${VIAL_SERVICES_DIR:-/tmp/vial-services}"
mkdir -p "$VIAL_SERVICES_DIR"
# Go builds are cached across runs (GOPATH, GOCACHE) so warm runs are fast.
export GOPATH="${GOPATH:-/root/go}" GOCACHE="${GOCACHE:-/root/.cache/go-build}" GOFLAGS="${GOFLAGS:--mod=mod}"
export PATH="$GOPATH/bin:/usr/local/go/bin:$PATH"

failed=()
for script in "$here"/services.d/*.sh; do
  name="$(basename "$script" .sh)"
  if ! bash "$script"; then
    echo "services: $name: not available" >&2
    failed+=("$name")
  fi
done
if ((${#failed[@]})); then
  echo "services: missing: ${failed[*]}" >&2
  [[ "${CI:-}" == "true" ]] && exit 1
fi
exit 0
