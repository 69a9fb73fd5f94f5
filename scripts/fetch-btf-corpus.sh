#!/usr/bin/env bash
# Fetches and caches a corpus of real kernel BTF for bpfkit's tests and benchmark, outside the
# checkout:
#   <root>/6.1/vmlinux     Debian bookworm 6.1 vmlinux ELF (decompressed from the bzImage, xz)
#   <root>/6.12/vmlinux    Debian trixie 6.12 vmlinux ELF (zstd payload)
#   <root>/6.12/modules/   every module of that kernel, decompressed (kernel/**/*.ko)
#   <root>/6.12-prev/      the same for the 6.12 point release before it (trixie-security)
#   <root>/sid/vmlinux     newest Debian sid kernel's BTF-only vmlinux (from its headers package)
#   <root>/sid/modules/    every module of that kernel, decompressed (kernel/**/*.ko)
#   <root>/sid/vmlinuz     that kernel's bootable image (for the VM tests)
#   <root>/<name>/VERSION  the exact Debian kernel version (e.g. 6.1.0-56-amd64)
#   <root>/<name>/.complete  written last; a kernel without it is fetched again
# where <root> is ${BPFKIT_CACHE:-~/.cache/bpfkit}/corpus. Packages come through a private apt
# configuration under ${BPFKIT_CACHE}/apt (the machine's apt sources are never read or changed)
# and the .debs stay in ${BPFKIT_CACHE}/debs so a rebuild does not download again.
#
# Usage: fetch-btf-corpus.sh [--refresh] | --print-root | --help
#   (no option)   fetch whatever is missing; a complete corpus is reused as is (no network)
#   --refresh     look up the newest versions again and refetch kernels that changed
#   --print-root  print the corpus root and exit
# Env: BPFKIT_CACHE (cache root), BPFKIT_KERNEL_6_1, BPFKIT_KERNEL_6_12, BPFKIT_KERNEL_6_12_PREV,
# BPFKIT_KERNEL_SID pin exact versions (6.1.0-56-amd64, 6.12.107+deb13-amd64,
# 6.12.105+deb13-amd64, 7.2.13+deb14-amd64) instead of the newest one available (for 6.12-prev:
# the newest one older than the 6.12 kernel).
# stdout: one line per kernel, then the corpus root. Progress and errors go to stderr.
set -euo pipefail
shopt -s inherit_errexit

me=fetch-btf-corpus
die() { echo "$me: error: $*" >&2; exit 1; }
say() { echo "$me: $*" >&2; }

CACHE=${BPFKIT_CACHE:-${HOME:?HOME is not set (set BPFKIT_CACHE)}/.cache/bpfkit}
case $CACHE in /*) ;; *) CACHE=$PWD/$CACHE ;; esac
ROOT=$CACHE/corpus

refresh=0
for arg in "$@"; do
  case $arg in
    --print-root) echo "$ROOT"; exit 0 ;;
    --refresh) refresh=1 ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) die "unknown argument '$arg' (try --help)" ;;
  esac
done

KERNELS=(6.1 6.12 6.12-prev sid)
pin_var() {
  case $1 in
    6.1) echo BPFKIT_KERNEL_6_1 ;; 6.12) echo BPFKIT_KERNEL_6_12 ;; 6.12-prev) echo BPFKIT_KERNEL_6_12_PREV ;;
    sid) echo BPFKIT_KERNEL_SID ;;
  esac
}
pin_of() {
  local var
  var=$(pin_var "$1")
  echo "${!var:-}"
}

# True when <root>/$1 is complete and holds version $2 (any version when $2 is empty).
is_current() {
  local dir=$ROOT/$1
  [ -f "$dir/.complete" ] && [ -f "$dir/VERSION" ] || return 1
  [ "$1" != sid ] || [ -f "$dir/vmlinuz" ] || return 1 # caches from before the VM tests lack it
  case $1 in sid | 6.12*) [ -d "$dir/modules/kernel" ] || return 1 ;; esac # older 6.12 caches lack them
  [ -z "$2" ] || [ "$(<"$dir/VERSION")" = "$2" ]
}
cached_line() { echo "corpus $1: $(<"$ROOT/$1/VERSION") -> $ROOT/$1 (cached)"; }

# Fast path: everything present (and matching the pins); no tools, no network, no lock.
if [ "$refresh" = 0 ]; then
  all=1
  for k in "${KERNELS[@]}"; do is_current "$k" "$(pin_of "$k")" || { all=0; break; }; done
  if [ "$all" = 1 ]; then
    for k in "${KERNELS[@]}"; do cached_line "$k"; done
    echo "$ROOT"
    exit 0
  fi
fi

# ---------------------------------------------------------------------------------------------
# Slow path: something has to be fetched or built.

missing=()
for pair in apt-get:apt apt-cache:apt dpkg-deb:dpkg tar:tar xz:xz-utils zstd:zstd; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair%%:*} (Debian package ${pair#*:})")
done
[ ${#missing[@]} = 0 ] || die "missing tools: $(IFS=,; echo "${missing[*]}" | sed 's/,/, /g')"
case $CACHE in *'"'* | *$'\n'*) die "BPFKIT_CACHE must not contain quotes or newlines: $CACHE" ;; esac

APT=$CACHE/apt
APTCONF=$APT/apt.conf
mkdir -p "$ROOT" "$CACHE/debs" "$APT/etc/preferences.d" "$APT/lists/partial" "$APT/cache/archives/partial"

# One run at a time per cache (tests may start several); the corpus is re-checked under the lock.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE/.lock"
  flock -n 9 || { say "waiting for another run on $CACHE"; flock 9; }
fi
rm -rf "$CACHE"/.stage.* # leftovers of killed runs (only ever touched under the lock)
STAGE=$(mktemp -d "$CACHE/.stage.XXXXXX")
# pkgcache.bin (~90 MB) is only worth keeping within a run: every later lookup updates the lists.
trap 'rm -rf "$STAGE" "$APT/cache/pkgcache.bin"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The private apt configuration. APT_CONFIG is read before the system's apt.conf.d, so it is
# passed again with -c (read after it) to win over e.g. docker-clean's empty pkgcache and to drop
# the system's update hooks. Only amd64 Packages indices are fetched (no DEP-11, translations).
key=/usr/share/keyrings/debian-archive-keyring.gpg
opts="arch=amd64 target=Packages signed-by=$key"
cat >"$APT/etc/sources.list" <<EOF
deb [$opts] http://deb.debian.org/debian sid main
deb [$opts] http://deb.debian.org/debian trixie main
deb [$opts] http://deb.debian.org/debian-security trixie-security main
deb [$opts] http://deb.debian.org/debian bookworm main
deb [$opts] http://deb.debian.org/debian-security bookworm-security main
EOF
cat >"$APTCONF" <<EOF
Dir::Etc::sourcelist "$APT/etc/sources.list";
Dir::Etc::sourceparts "-";
Dir::Etc::preferences "$APT/etc/preferences";
Dir::Etc::preferencesparts "$APT/etc/preferences.d";
Dir::State::lists "$APT/lists";
Dir::State::status "$APT/status";
Dir::State::extended_states "$APT/extended_states";
Dir::Cache "$APT/cache";
Dir::Cache::pkgcache "pkgcache.bin";
Dir::Cache::srcpkgcache "";
APT::Architecture "amd64";
#clear APT::Architectures;
APT::Architectures { "amd64"; };
#clear Acquire::Languages;
Acquire::Languages { "none"; };
#clear APT::Update::Pre-Invoke;
#clear APT::Update::Post-Invoke;
#clear APT::Update::Post-Invoke-Success;
APT::Sandbox::User "root";
EOF
[ -f "$APT/status" ] || : >"$APT/status"
export APT_CONFIG=$APTCONF
apt_get() { apt-get -c "$APTCONF" -o APT::Sandbox::User=root "$@"; }
apt_cache() { apt-cache -c "$APTCONF" "$@"; }

lists_fresh=0
update_lists() {
  [ "$lists_fresh" = 0 ] || return 0
  [ -f "$key" ] || die "$key is missing (apt-get install debian-archive-keyring)"
  say "updating package lists (private config $APTCONF)"
  apt_get -qq -o APT::Update::Error-Mode=any update >"$STAGE/update.log" 2>&1 ||
    { cat "$STAGE/update.log" >&2; die "apt-get update failed (private config $APTCONF)"; }
  lists_fresh=1
}

# The newest version <v> for which linux-image-<v> (etc.) exists; $1 = package name prefix,
# $2 = ERE the part after the prefix must match.
newest() {
  apt_cache pkgnames "$1" | sed -n "s/^$1//p" | { grep -E "^($2)\$" || true; } | sort -V | tail -n 1
}
newest_sid() {
  local v
  for v in $(apt_cache pkgnames linux-binary-unsigned- | sed -n 's/^linux-binary-unsigned-//p' |
    { grep -E '^[0-9][^ ]*-amd64$' || true; } | { grep -vE -- '-(cloud|rt)-amd64$' || true; } | sort -Vr); do
    if apt_cache show "linux-headers-$v" >/dev/null 2>&1 && apt_cache show "linux-modules-$v" >/dev/null 2>&1; then
      echo "$v"
      return
    fi
  done
}
older_than() { # the newest downloadable 6.12.<N>+deb13-amd64 image below version $1
  local v
  for v in $(apt_cache pkgnames linux-image-6.12. | sed -n 's/^linux-image-//p' |
    { grep -E '^6\.12\.[0-9]+\+deb13-amd64$' || true; } | sort -Vr); do
    [ "$v" != "$1" ] && [ "$(printf '%s\n%s\n' "$v" "$1" | sort -V | head -n 1)" = "$v" ] || continue
    apt_cache show "linux-image-$v" 2>/dev/null | grep -q '^Filename:' && { echo "$v"; return; }
  done
}
resolve() { # kernel name -> version to use (the package lists must be fresh)
  local v what
  case $1 in
    6.1) what='linux-image-6.1.0-<N>-amd64' v=$(newest linux-image- '6\.1\.0-[0-9]+-amd64') ;;
    6.12) what='linux-image-6.12.<N>+deb13-amd64' v=$(newest linux-image- '6\.12\.[0-9]+\+deb13-amd64') ;;
    6.12-prev)
      what="linux-image-6.12.<N>+deb13-amd64 older than the 6.12 kernel ($(<"$ROOT/6.12/VERSION"))"
      v=$(older_than "$(<"$ROOT/6.12/VERSION")") ;;
    sid) what='linux-binary-unsigned-<ver>-amd64 with linux-headers-/linux-modules-<ver>-amd64' v=$(newest_sid) ;;
  esac
  [ -n "$v" ] || die "no $what in the package lists (kernel $1)"
  echo "$v"
}

# Sets DEB to the cached .deb of package $1, downloading it first if needed.
DEB=
fetch_deb() {
  local pkg=$1 d f=()
  shopt -s nullglob
  f=("$CACHE/debs/${pkg}_"*.deb)
  shopt -u nullglob
  if [ ${#f[@]} -gt 0 ]; then
    DEB=$(printf '%s\n' "${f[@]}" | sort -V | tail -n 1)
    return
  fi
  update_lists
  say "downloading $pkg"
  d=$(mktemp -d "$STAGE/dl.XXXXXX")
  (cd "$d" && apt_get -qq download "$pkg") >"$d.log" 2>&1 ||
    { cat "$d.log" >&2; die "cannot download $pkg$WHY"; }
  shopt -s nullglob
  f=("$d"/*.deb)
  shopt -u nullglob
  [ ${#f[@]} = 1 ] || die "apt-get download $pkg produced ${#f[@]} .deb files"
  mv "${f[0]}" "$CACHE/debs/"
  DEB=$CACHE/debs/${f[0]##*/}
}

# Extracts the members matching patterns $3... of .deb $1 into directory $2.
deb_extract() {
  local deb=$1 dest=$2
  shift 2
  mkdir -p "$dest"
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dest" --wildcards "$@" ||
    die "cannot extract $* from $deb (delete it to download it again)"
}

# Unsigned little-endian integer of $3 bytes at offset $2 of file $1.
le() {
  local b v=0 i=0
  for b in $(od -An -v -tu1 -j "$2" -N "$3" "$1"); do
    v=$((v + (b << (8 * i))))
    i=$((i + 1))
  done
  [ "$i" = "$3" ] || return 1
  echo "$v"
}
hex() { od -An -v -tx1 -j "$2" -N "$3" "$1" | tr -d ' \n'; }

# A complete little-endian ELF64 file (section header table inside the file) with a .BTF section.
check_elf() {
  local f=$1 size shoff shnum shentsize shstrndx sh stroff strsize
  [ "$(hex "$f" 0 6)" = 7f454c460201 ] || return 1
  size=$(stat -c %s "$f")
  shoff=$(le "$f" 40 8) && shentsize=$(le "$f" 58 2) && shnum=$(le "$f" 60 2) && shstrndx=$(le "$f" 62 2) || return 1
  [ "$shnum" -gt 0 ] && [ "$shentsize" = 64 ] && [ $((shoff + shnum * 64)) -le "$size" ] && [ "$shstrndx" -lt "$shnum" ] || return 1
  sh=$((shoff + shstrndx * 64))
  stroff=$(le "$f" $((sh + 24)) 8) && strsize=$(le "$f" $((sh + 32)) 8) || return 1
  [ $((stroff + strsize)) -le "$size" ] || return 1
  dd if="$f" iflag=skip_bytes,count_bytes skip="$stroff" count="$strsize" bs=64K status=none |
    tr '\0' '\n' | grep -x '\.BTF' >/dev/null
}

# Decompresses the vmlinux ELF inside x86 bzImage $1 (payload magic $2 in hex, decompressor $3)
# to $4. Boot protocol >= 2.08 gives the payload's place: (setup_sects+1)*512 + payload_offset,
# payload_length bytes whose last 4 are the uncompressed size, so the stream is cut exactly and
# the decompressor's status and the size are checked. Otherwise: the first occurrence of the
# magic, decompressed up to wherever the stream ends (the trailing data makes the decompressor
# complain, so only the result is checked).
extract_vmlinux() {
  local img=$1 magic=$2 tool=$3 out=$4 size setup off= len want
  size=$(stat -c %s "$img")
  if [ "$size" -gt 1024 ] && [ "$(hex "$img" 514 4)" = 48647253 ] && [ "$(le "$img" 518 2)" -ge $((0x208)) ]; then
    setup=$(le "$img" 497 1)
    [ "$setup" != 0 ] || setup=4
    off=$(((setup + 1) * 512 + $(le "$img" 584 4)))
    len=$(le "$img" 588 4)
    if [ "$len" -le 4 ] || [ $((off + len)) -gt "$size" ] || [ "$(hex "$img" "$off" $((${#magic} / 2)))" != "$magic" ]; then
      off=
    fi
  fi
  if [ -n "$off" ]; then
    want=$(le "$img" $((off + len - 4)) 4)
    dd if="$img" iflag=skip_bytes,count_bytes skip="$off" count=$((len - 4)) bs=1M status=none |
      "$tool" -dc >"$out" || die "$img: $tool could not decompress the kernel payload"
    [ "$(stat -c %s "$out")" = "$want" ] ||
      die "$img: payload decompressed to $(stat -c %s "$out") bytes, the image says $want"
  else
    off=$({ LC_ALL=C grep -m1 -obUaP "$(echo "$magic" | sed 's/../\\x&/g')" "$img" || true; } | LC_ALL=C sed -n '1s/:.*//p')
    [ -n "$off" ] || die "$img: no $tool payload (magic $magic) found"
    { tail -c +$((off + 1)) "$img" | "$tool" -dc >"$out" 2>/dev/null; } || true
  fi
  check_elf "$out" || die "$img: the decompressed payload is not a complete ELF64 file with .BTF"
}

# Puts the finished directory $3 in place as <root>/$1 holding version $2; .complete goes last.
install_dir() {
  local name=$1 ver=$2 new=$3
  echo "$ver" >"$new/VERSION"
  : >"$new/.complete"
  if [ -e "$ROOT/$name" ]; then mv "$ROOT/$name" "$STAGE/old.$name"; fi
  mv "$new" "$ROOT/$name"
  rm -rf "$STAGE/old.$name"
}

# Extracts every module of kernel $2 from .deb $1 into $3/modules, decompressed; sets NMODS.
NMODS=0
extract_modules() {
  local deb=$1 ver=$2 new=$3 x=$STAGE/mods.$$ mods left
  say "extracting and decompressing the modules of $ver"
  deb_extract "$deb" "$x" "./usr/lib/modules/$ver/*"
  mods=$x/usr/lib/modules/$ver
  [ -d "$mods/kernel" ] || die "$deb has no usr/lib/modules/$ver/kernel"
  (cd "$mods" && find . -type f -name '*.ko.xz' -print0 | xargs -0 -r -n 32 -P "$(nproc 2>/dev/null || echo 2)" xz -dq) ||
    die "decompressing the modules of $ver failed"
  left=$(find "$mods" -type f -name '*.ko.xz' | wc -l)
  [ "$left" = 0 ] || die "$left modules of $ver are still compressed"
  NMODS=$(find "$mods" -type f -name '*.ko' | wc -l)
  [ "$NMODS" -gt 0 ] || die "$deb contains no modules"
  mv "$mods" "$new/modules" # the kernel/ tree, plus modules.dep etc. when the package has them
  rm -rf "$x"
}

build_image_kernel() { # name version magic decompressor [with-modules]
  local name=$1 ver=$2 new=$STAGE/new.$1 x=$STAGE/x.$1 extra=
  fetch_deb "linux-image-$ver"
  say "extracting vmlinux of $ver"
  mkdir -p "$new"
  deb_extract "$DEB" "$x" "./boot/vmlinuz-$ver"
  extract_vmlinux "$x/boot/vmlinuz-$ver" "$3" "$4" "$new/vmlinux"
  rm -rf "$x"
  if [ "${5:-}" = with-modules ]; then
    extract_modules "$DEB" "$ver" "$new"
    extra=", $NMODS modules"
  fi
  install_dir "$name" "$ver" "$new"
  echo "corpus $name: $ver -> $ROOT/$name (fetched$extra)"
}

build_sid() { # version
  local ver=$1 new=$STAGE/new.sid x=$STAGE/x.sid
  fetch_deb "linux-headers-$ver"
  local headers=$DEB
  fetch_deb "linux-modules-$ver"
  local modules=$DEB
  fetch_deb "linux-binary-unsigned-$ver"
  local image=$DEB
  mkdir -p "$new"
  deb_extract "$image" "$x" "./usr/lib/modules/$ver/vmlinuz.unsigned"
  mv "$x/usr/lib/modules/$ver/vmlinuz.unsigned" "$new/vmlinuz"
  deb_extract "$headers" "$x" "./usr/src/linux-headers-$ver/vmlinux"
  mv "$x/usr/src/linux-headers-$ver/vmlinux" "$new/vmlinux"
  check_elf "$new/vmlinux" || die "$headers: usr/src/linux-headers-$ver/vmlinux is not an ELF64 file with .BTF"
  extract_modules "$modules" "$ver" "$new"
  install_dir sid "$ver" "$new"
  echo "corpus sid: $ver -> $ROOT/sid (fetched, $NMODS modules)"
}

WHY=
for k in "${KERNELS[@]}"; do
  ver=$(pin_of "$k")
  WHY=" (version pinned by $(pin_var "$k")=$ver)"
  if [ -z "$ver" ]; then
    WHY=" (newest $k kernel in the package lists)"
    if [ "$refresh" = 0 ] && is_current "$k" ""; then
      cached_line "$k"
      continue
    fi
    update_lists
    ver=$(resolve "$k")
  fi
  if is_current "$k" "$ver"; then
    cached_line "$k"
    continue
  fi
  case $k in
    6.1) build_image_kernel 6.1 "$ver" fd377a585a00 xz ;;
    6.12 | 6.12-prev) build_image_kernel "$k" "$ver" 28b52ffd zstd with-modules ;;
    sid) build_sid "$ver" ;;
  esac
done
echo "$ROOT"
