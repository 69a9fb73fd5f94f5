#!/usr/bin/env bash
# Fetches and caches a corpus of real kernel BTF for bpfkit's tests and benchmark:
#   <root>/6.1/vmlinux    Debian bookworm 6.1 vmlinux ELF (from the image's bzImage, xz payload)
#   <root>/6.12/vmlinux   Debian trixie 6.12 vmlinux ELF (zstd payload)
#   <root>/sid/vmlinux    newest Debian sid kernel's BTF-only vmlinux (from its headers package)
#   <root>/sid/modules/   every module of that kernel, decompressed (.ko)
# with <root>/<name>/VERSION naming the exact Debian kernel. Downloads go through a private apt
# configuration under the cache; the system's apt sources are never read or changed.
#
# Env: BPFKIT_CACHE (default ~/.cache/bpfkit), BPFKIT_KERNEL_6_1, BPFKIT_KERNEL_6_12 and
# BPFKIT_KERNEL_SID pin exact versions (e.g. 6.1.0-56-amd64, 6.12.107+deb13-amd64,
# 7.2.13+deb14-amd64). `--print-root` prints the corpus root and does nothing else.
set -euo pipefail

CACHE=${BPFKIT_CACHE:-$HOME/.cache/bpfkit}
ROOT=$CACHE/corpus
if [ "${1:-}" = "--print-root" ]; then
  echo "$ROOT"
  exit 0
fi

die() { echo "fetch-btf-corpus: $*" >&2; exit 1; }
for tool in apt-get apt-cache dpkg-deb xz zstd python3; do
  command -v "$tool" >/dev/null || die "$tool is missing (apt-get install xz-utils zstd)"
done

complete() { [ -f "$ROOT/$1/.complete" ]; }
if complete 6.1 && complete 6.12 && complete sid; then
  for k in 6.1 6.12 sid; do echo "corpus $k: $(cat "$ROOT/$k/VERSION") -> $ROOT/$k (cached)"; done
  echo "$ROOT"
  exit 0
fi

APT=$CACHE/apt
mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$APT/etc/preferences.d" "$CACHE/debs" "$ROOT"
key=/usr/share/keyrings/debian-archive-keyring.gpg
cat > "$APT/etc/sources.list" <<X
deb [signed-by=$key] http://deb.debian.org/debian sid main
deb [signed-by=$key] http://deb.debian.org/debian trixie main
deb [signed-by=$key] http://deb.debian.org/debian bookworm main
deb [signed-by=$key] http://deb.debian.org/debian-security bookworm-security main
X
cat > "$APT/apt.conf" <<X
Dir::Etc::sourcelist "$APT/etc/sources.list";
Dir::Etc::sourceparts "-";
Dir::State::lists "$APT/lists";
Dir::Cache "$APT/cache";
Dir::Etc::preferencesparts "$APT/etc/preferences.d";
APT::Sandbox::User "root";
X
export APT_CONFIG=$APT/apt.conf
apt-get -qq update >/dev/null 2>&1 || apt-get update >&2 || die "apt-get update failed"

# Newest package version suffix matching a regex over package names (one capture: the version).
newest() {
  apt-cache search --names-only "$1" | sed -nE "s/^$2 - .*/\1/p" | sort -V | tail -n 1
}

# Downloads a package into the deb cache (once) and prints the .deb path.
download() {
  local pkg=$1 deb
  deb=$(ls "$CACHE/debs/${pkg}_"*.deb 2>/dev/null | head -n 1 || true)
  if [ -z "$deb" ]; then
    (cd "$CACHE/debs" && apt-get download -qq "$pkg" >/dev/null) || die "cannot download $pkg"
    deb=$(ls "$CACHE/debs/${pkg}_"*.deb | head -n 1)
  fi
  echo "$deb"
}

# Decompresses the vmlinux ELF embedded in a bzImage; $2 is the payload magic (hex), $3 the tool.
extract_vmlinux() {
  local image=$1 magic=$2 tool=$3 out=$4 off
  off=$(python3 -c 'import sys; print(open(sys.argv[1], "rb").read().find(bytes.fromhex(sys.argv[2])))' "$image" "$magic")
  [ "$off" -ge 0 ] || die "no $tool payload in $image"
  tail -c +$((off + 1)) "$image" | "$tool" -dc > "$out.tmp" 2>/dev/null || true
  [ "$(head -c 4 "$out.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] || die "$image: payload is not an ELF file"
  mv "$out.tmp" "$out"
}

fetch_image_kernel() { # name, version, magic, tool
  local name=$1 ver=$2 dir=$ROOT/$1 tmp
  if complete "$name" && [ "$(cat "$dir/VERSION")" = "$ver" ]; then
    echo "corpus $name: $ver -> $dir (cached)"; return
  fi
  rm -rf "$dir"; mkdir -p "$dir"
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' RETURN
  dpkg-deb -x "$(download "linux-image-$ver")" "$tmp"
  extract_vmlinux "$tmp/boot/vmlinuz-$ver" "$3" "$4" "$dir/vmlinux"
  echo "$ver" > "$dir/VERSION"; touch "$dir/.complete"
  echo "corpus $name: $ver -> $dir"
}

fetch_sid() {
  local ver=$1 dir=$ROOT/sid tmp mods
  if complete sid && [ "$(cat "$dir/VERSION")" = "$ver" ]; then
    echo "corpus sid: $ver -> $dir (cached)"; return
  fi
  rm -rf "$dir"; mkdir -p "$dir/modules"
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' RETURN
  dpkg-deb -x "$(download "linux-headers-$ver")" "$tmp/h"
  cp "$tmp/h/usr/src/linux-headers-$ver/vmlinux" "$dir/vmlinux"
  dpkg-deb -x "$(download "linux-modules-$ver")" "$tmp/m"
  mods=$tmp/m/usr/lib/modules/$ver
  [ -d "$mods" ] || die "linux-modules-$ver has no usr/lib/modules/$ver"
  (cd "$mods" && find . -name '*.ko.xz' -print0 | xargs -0 -n 64 -P 2 xz -d) || die "decompressing modules failed"
  rmdir "$dir/modules" && mv "$mods" "$dir/modules"
  echo "$ver" > "$dir/VERSION"; touch "$dir/.complete"
  echo "corpus sid: $ver -> $dir ($(find "$dir/modules" -name '*.ko' | wc -l) modules)"
}

v61=${BPFKIT_KERNEL_6_1:-$(newest '^linux-image-6\.1\.0-[0-9]+-amd64$' 'linux-image-(6\.1\.0-[0-9]+-amd64)')}
v612=${BPFKIT_KERNEL_6_12:-$(newest '^linux-image-6\.12\.[0-9]+\+deb13-amd64$' 'linux-image-(6\.12\.[0-9]+\+deb13-amd64)')}
vsid=${BPFKIT_KERNEL_SID:-}
if [ -z "$vsid" ]; then
  for cand in $(apt-cache search --names-only '^linux-binary-unsigned-.*-amd64$' \
      | sed -nE 's/^linux-binary-unsigned-([0-9][^ ]*\+deb[0-9]+-amd64) - .*/\1/p' | sort -Vr); do
    if apt-cache show "linux-headers-$cand" >/dev/null 2>&1 && apt-cache show "linux-modules-$cand" >/dev/null 2>&1; then
      vsid=$cand; break
    fi
  done
fi
[ -n "$v61" ] || die "no linux-image-6.1.0-*-amd64 found"
[ -n "$v612" ] || die "no linux-image-6.12.*+deb13-amd64 found"
[ -n "$vsid" ] || die "no sid kernel with headers and modules found"

fetch_image_kernel 6.1 "$v61" fd377a585a00 xz
fetch_image_kernel 6.12 "$v612" 28b52ffd zstd
fetch_sid "$vsid"
echo "$ROOT"
