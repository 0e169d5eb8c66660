#!/usr/bin/env bash
# Debian's busybox-static (/bin/busybox, statically linked): the policy and runtime tests build a
# one-layer image from it that runs in Docker and under bubblewrap without any mirror.
# bubblewrap: vial's daemonless runtime (`vial run --runtime bwrap`).
source "$(dirname "$0")/lib.sh"
apt_install busybox-static bubblewrap || exit 1
[[ -x /bin/busybox ]] && have bwrap
