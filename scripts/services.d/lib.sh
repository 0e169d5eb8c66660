# Helpers shared by the service scripts (sourced, not run).
is_root() { [[ "$(id -u)" == 0 ]]; }
have() { command -v "$1" >/dev/null 2>&1; }
apt_updated=""
apt_install() {
  # apt_install PKG...: install the Debian packages that are not installed yet.
  local missing=()
  for pkg in "$@"; do dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg"); done
  ((${#missing[@]})) || return 0
  is_root || { echo "services: need root to install: ${missing[*]}" >&2; return 1; }
  if [[ -z "$apt_updated" ]]; then apt-get update -qq >/dev/null || return 1; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
wait_for() {
  # wait_for SECONDS CMD...: poll until CMD succeeds.
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do ((SECONDS < deadline)) || return 1; sleep 0.3; done
}
