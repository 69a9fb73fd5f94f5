#!/usr/bin/env bash
# Regenerates the committed fuzz seeds under fuzz/seeds/<target>/ from the project's own files:
#   parse      the .BTF sections of some BPF fixtures
#   object     some BPF fixtures whole (scx_cid: an arena map and __arena globals)
#   btf_ext    u32 length + .BTF + .BTF.ext of those fixtures (the btf_ext target's layout)
#   distilled  written by crates/bpfkit-btf/tests/malformed_distilled.rs (BPFKIT_FUZZ_SEEDS)
# Needs python3 and, for the distilled seeds, the BTF corpus (cargo test fetches it).
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=fuzz/seeds
rm -rf "$seeds" && mkdir -p "$seeds"/{parse,object,btf_ext,distilled}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for o in minimal maps core tcp_cc externs testmod_ops scx_cid; do
  cp "bpf/$o.bpf.o" "$seeds/object/$o"
  python3 - "bpf/$o.bpf.o" "$seeds/parse/$o" "$seeds/btf_ext/$o" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
shoff, = struct.unpack_from("<Q", data, 0x28)
shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
def header(i):
    return struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
strtab = header(shstrndx)
def name(off):
    start = strtab[4] + off
    return data[start:data.index(b"\0", start)].decode()
sections = {}
for i in range(shnum):
    h = header(i)
    sections[name(h[0])] = data[h[4]:h[4] + h[5]]
btf, ext = sections[".BTF"], sections[".BTF.ext"]
open(sys.argv[2], "wb").write(btf)
open(sys.argv[3], "wb").write(struct.pack("<I", len(btf)) + btf + ext)
PY
done
BPFKIT_FUZZ_SEEDS="$PWD/$seeds/distilled" cargo test -q -p bpfkit-btf --test malformed_distilled >/dev/null
du -sh "$seeds"/*
