#!/usr/bin/env bash
# Builds (once) the local Debian base image the image tests use instead of a registry image:
# debootstrap minbase trixie + nodejs (20.x) + ca-certificates, plus the host's own npm copied in (Debian's npm
# package drags in ~400 node-* packages and failed to configure under debootstrap), imported into podman: the same
# shape as the public node:20-slim image the Containerfile defaults to.
# Cached: the rootfs tarball under $PLOTPOINTE_IMAGE_CACHE (default /var/cache/plotpointe) and the podman image
# itself, so a rerun costs nothing. Prints the image name on the last line.
# Env: PLOTPOINTE_BASE_IMAGE (name, default localhost/plotpointe-base:trixie), DEBIAN_MIRROR (default: the mirror
# apt uses on this host, else http://deb.debian.org/debian).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=podman-env.sh
source "$here/podman-env.sh"

image="${PLOTPOINTE_BASE_IMAGE:-localhost/plotpointe-base:trixie}"
cache="${PLOTPOINTE_IMAGE_CACHE:-/var/cache/plotpointe}"
tarball="$cache/rootfs-trixie-node.tar"

if podman image exists "$image"; then
  echo "$image"
  exit 0
fi

mkdir -p "$cache"
if [ ! -s "$tarball" ]; then
  mirror="${DEBIAN_MIRROR:-}"
  if [ -z "$mirror" ]; then
    mirror="$( (grep -rhE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
      /etc/apt/sources.list.d/*.list 2>/dev/null || true) | grep -oE 'https?://[^ ]+/debian/?( |$)' \
      | grep -v security | head -n1 | tr -d ' ')"
    mirror="${mirror:-http://deb.debian.org/debian}"
  fi
  rootfs="$(mktemp -d "$cache/rootfs.XXXXXX")"
  trap 'rm -rf "$rootfs"' EXIT
  echo "== debootstrap trixie from $mirror (once; a few minutes)" >&2
  if ! debootstrap --variant=minbase --include=nodejs,ca-certificates trixie "$rootfs" "$mirror" >&2; then
    tail -n 30 "$rootfs/debootstrap/debootstrap.log" >&2 || true
    exit 1
  fi
  npm_root="$(npm root -g)/npm"
  [ -f "$npm_root/bin/npm-cli.js" ] || { echo "no npm on this host at $npm_root" >&2; exit 1; }
  mkdir -p "$rootfs/usr/lib/node_modules"
  cp -a "$npm_root" "$rootfs/usr/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/bin/npx"
  # Trim what a container never uses: apt lists, caches, docs, man pages, locales.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
  # debootstrap writes the mirror into sources; apt-get in derived images needs it.
  echo "deb $mirror trixie main" > "$rootfs/etc/apt/sources.list"
  tar -C "$rootfs" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
fi

echo "== podman import $tarball as $image" >&2
podman import --change 'CMD ["/bin/bash"]' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  "$tarball" "$image" >&2
echo "$image"
