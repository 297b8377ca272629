# Shared helpers for the image builders. Sourced, not run.
# shellcheck shell=bash

hd_die() { echo "${0##*/}: $*" >&2; exit 1; }
hd_log() { echo "${0##*/}: $*" >&2; }

# hd_outdir [DIR] — resolve the output directory (default: <repo>/build/images),
# create it and print its absolute path.
hd_outdir() {
  local dir=${1:-}
  if [ -z "$dir" ]; then
    dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/images"
  fi
  mkdir -p "$dir"
  (cd "$dir" && pwd)
}

# hd_fetch_deb PACKAGE CACHEDIR — print the path of PACKAGE's .deb (the version
# apt would install), downloading it with `apt-get download` into CACHEDIR if it
# is not there yet. Needs apt's package lists (`apt-get update`) only when it
# has to download.
hd_fetch_deb() {
  local pkg=$1 cache=$2 ver file
  mkdir -p "$cache"
  ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | sed -n 's/^Version: //p' | head -n1) || true
  [ -n "$ver" ] || hd_die "apt knows no package $pkg (run apt-get update?)"
  # apt-get download writes the epoch colon as %3a.
  file="$cache/${pkg}_${ver//:/%3a}_amd64.deb"
  if [ ! -s "$file" ]; then
    hd_log "downloading $pkg $ver"
    (cd "$cache" && apt-get download -q -o APT::Sandbox::User=root "$pkg=$ver" >&2) ||
      hd_die "apt-get download $pkg=$ver failed"
    [ -s "$file" ] || hd_die "apt-get download did not produce $file"
  fi
  printf '%s\n' "$file"
}

# hd_sha256 FILE — the hex sha256 of FILE.
hd_sha256() { sha256sum "$1" | cut -d' ' -f1; }

# hd_size FILE — the size of FILE in bytes.
hd_size() { stat -c %s "$1"; }

# hd_tar EPOCH DIR OUT [TAR OPTIONS...] — tar the contents of DIR (entries named
# without a leading ./, sorted bytewise, numeric owner root:root, every mtime
# EPOCH, ustar headers) to OUT. The same tree gives the same bytes.
hd_tar() {
  local epoch=$1 dir=$2 out=$3
  shift 3
  (cd "$dir" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort) |
    tar -C "$dir" --format=ustar --no-recursion --numeric-owner --owner=0 --group=0 \
        --mtime="@$epoch" "$@" -cf "$out" --verbatim-files-from -T -
}
