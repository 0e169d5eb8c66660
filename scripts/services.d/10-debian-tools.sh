#!/usr/bin/env bash
# mmdebstrap builds Debian root filesystems; apt-ftparchive (apt-utils) indexes the locked .debs.
source "$(dirname "$0")/lib.sh"
apt_install mmdebstrap apt-utils ca-certificates || exit 1
have mmdebstrap && have apt-ftparchive
