#!/usr/bin/env bash
# Builds hostd's busybox base container image from Debian's busybox-static, with
# nothing but Debian's tools. Writes, into OUTDIR (default <repo>/build/images):
#
#   busybox.oci.tar        OCI image layout as a tar (skopeo's oci-archive:), one
#                          gzip layer, tag "latest"
#   busybox-extra.oci.tar  the same base layer plus one small layer holding
#                          /etc/hostd-extra (two images sharing all but one layer)
#   busybox-rootfs.tar.gz  the plain root filesystem tar (the base layer blob)
#
# Byte-for-byte reproducible: every mtime is SOURCE_DATE_EPOCH (default: the
# mtime of /bin/busybox inside the .deb), names are sorted, owners are 0:0.
#
# Environment: HD_DEB_CACHE  where downloaded .debs are kept (default OUTDIR/.debs)
#              HD_BUSYBOX_DEB  use this busybox-static .deb instead of downloading
#
# usage: build-busybox-oci.sh [OUTDIR]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

case ${1:-} in
  -h|--help) sed -n '2,/^set -e/{/^set -e/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
esac
[ $# -le 1 ] || hd_die "usage: $0 [OUTDIR]"

out=$(hd_outdir "${1:-}")
cache=${HD_DEB_CACHE:-$out/.debs}
deb=${HD_BUSYBOX_DEB:-$(hd_fetch_deb busybox-static "$cache")}
[ -s "$deb" ] || hd_die "no such .deb: $deb"

work=$(mktemp -d "${TMPDIR:-/tmp}/hd-busybox.XXXXXX")
trap 'rm -rf "$work"' EXIT
umask 022

dpkg-deb -x "$deb" "$work/deb"
bb=$work/deb/bin/busybox
[ -x "$bb" ] || hd_die "$deb has no bin/busybox"
epoch=${SOURCE_DATE_EPOCH:-$(stat -c %Y "$bb")}
created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)
bbver=$(dpkg-deb -f "$deb" Version)

# ---- the root filesystem ---------------------------------------------------
r=$work/rootfs
mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,home}
install -m 0755 "$bb" "$r/bin/busybox"
# One relative symlink per applet, where busybox says it belongs.
while read -r path; do
  case $path in linuxrc|bin/busybox|'') continue ;; esac
  dir=${path%/*}
  [ "$dir" != "$path" ] || hd_die "unexpected applet path: $path"
  if [ "$dir" = bin ]; then
    target=busybox
  else
    slashes=${path//[^\/]/}               # one ../ per directory level
    target=$(printf '../%.0s' $(seq ${#slashes}))bin/busybox
  fi
  [ -e "$r/$path" ] || [ -L "$r/$path" ] || ln -s "$target" "$r/$path"
done < <("$bb" --list-full | LC_ALL=C sort)
[ -L "$r/bin/sh" ] || hd_die "busybox has no sh applet"

cat > "$r/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat > "$r/etc/group" <<'EOF'
root:x:0:
nobody:x:65534:
EOF
install -D -m 0644 "$work/deb/usr/share/doc/busybox-static/copyright" \
  "$r/usr/share/doc/busybox-static/copyright"

find "$r" -type d -exec chmod 0755 {} +
find "$r" -type f -exec chmod 0644 {} +
chmod 0755 "$r/bin/busybox"
chmod 1777 "$r/tmp"
chmod 0700 "$r/root"

# ---- layers ----------------------------------------------------------------
# layer NAME DIR: NAME.tar and NAME.tar.gz in $work.
layer() {
  hd_tar "$epoch" "$2" "$work/$1.tar"
  gzip -n -9 < "$work/$1.tar" > "$work/$1.tar.gz"
}
layer base "$r"

x=$work/extra
mkdir -p "$x/etc"
printf 'hostd extra layer\n' > "$x/etc/hostd-extra"
chmod 0755 "$x/etc"
chmod 0644 "$x/etc/hostd-extra"
layer extra "$x"

# ---- OCI image layouts -----------------------------------------------------
# blob LAYOUT FILE: copy FILE into LAYOUT's blob store, print its digest.
blob() {
  local h
  h=$(hd_sha256 "$2")
  mkdir -p "$1/blobs/sha256"
  cp "$2" "$1/blobs/sha256/$h"
  printf 'sha256:%s\n' "$h"
}

# image NAME TITLE LAYER... — write OUTDIR/NAME.oci.tar from the layers
# $work/LAYER.tar(.gz), bottom first.
image() {
  local name=$1 title=$2 l d
  shift 2
  local lay=$work/layout-$name
  local diffs='' descs='' hist='' sep=''
  rm -rf "$lay"
  mkdir -p "$lay"
  for l in "$@"; do
    d=$(blob "$lay" "$work/$l.tar.gz")
    diffs+="$sep\"sha256:$(hd_sha256 "$work/$l.tar")\""
    descs+="$sep{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"$d\",\"size\":$(hd_size "$work/$l.tar.gz")}"
    hist+="$sep{\"created\":\"$created\",\"created_by\":\"hostd packaging/images/build-busybox-oci.sh: $l layer (busybox-static $bbver)\"}"
    sep=,
  done

  printf '%s' \
    "{\"created\":\"$created\",\"architecture\":\"amd64\",\"os\":\"linux\"," \
    "\"config\":{\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"]," \
    "\"Cmd\":[\"sh\"],\"WorkingDir\":\"/\"," \
    "\"Labels\":{\"org.opencontainers.image.title\":\"$title\"}}," \
    "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[$diffs]}," \
    "\"history\":[$hist]}" > "$work/config-$name.json"
  local cd cs
  cd=$(blob "$lay" "$work/config-$name.json")
  cs=$(hd_size "$work/config-$name.json")

  printf '%s' \
    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"," \
    "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"$cd\",\"size\":$cs}," \
    "\"layers\":[$descs]," \
    "\"annotations\":{\"org.opencontainers.image.title\":\"$title\",\"org.opencontainers.image.created\":\"$created\"}}" \
    > "$work/manifest-$name.json"
  local md ms
  md=$(blob "$lay" "$work/manifest-$name.json")
  ms=$(hd_size "$work/manifest-$name.json")

  printf '%s' \
    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\"," \
    "\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"$md\",\"size\":$ms," \
    "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}," \
    "\"annotations\":{\"org.opencontainers.image.ref.name\":\"latest\"}}]}" > "$lay/index.json"
  printf '{"imageLayoutVersion":"1.0.0"}' > "$lay/oci-layout"
  find "$lay" -type d -exec chmod 0755 {} +
  find "$lay" -type f -exec chmod 0644 {} +

  hd_tar "$epoch" "$lay" "$work/$name.oci.tar"
  chmod 0644 "$work/$name.oci.tar"
  mv -f "$work/$name.oci.tar" "$out/$name.oci.tar"
  echo "$out/$name.oci.tar  manifest $md"
}

image busybox busybox base
image busybox-extra busybox-extra base extra
install -m 0644 "$work/base.tar.gz" "$out/busybox-rootfs.tar.gz.tmp"
mv -f "$out/busybox-rootfs.tar.gz.tmp" "$out/busybox-rootfs.tar.gz"
echo "$out/busybox-rootfs.tar.gz  sha256:$(hd_sha256 "$out/busybox-rootfs.tar.gz")"
