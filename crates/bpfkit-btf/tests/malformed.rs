//! Malformed input: tens of thousands of mutated blobs must each give a typed error or a valid
//! parse on which every query terminates without panicking and answers consistently.
//!
//! Seeds: a rich BTF with every kind (both byte orders), a split BTF on top of it, a BTF with a
//! layout section describing kinds newer than this crate, and ~300 types copied out of the
//! running kernel's vmlinux when it is readable. Mutations: truncation at every boundary,
//! header fields set to extreme values, type records rewritten (unknown kinds, huge vlens,
//! dangling names and ids, reference cycles), string and layout damage, random bit flips.
//! Everything is deterministic (xorshift with fixed seeds). A watchdog fails the test on a
//! hang and prints the blob being parsed.
//!
//! Regression tests for the library bugs this suite found (two exponential-time queries, two
//! wrong name-lookup answers, one inconsistent error) are at the end.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bpfkit_btf::{
    Btf, BtfBuilder, BtfError, Endian, HeaderFault, IntEncoding, Kind, MAX_NESTING_DEPTH, MAX_RESOLVE_DEPTH,
    MemberSpec, RecordData, TypeDetails, TypeFault, TypeRecord, VarSecinfo, linkage,
};

// ---------------------------------------------------------------------------------------------
// Deterministic randomness.

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

// ---------------------------------------------------------------------------------------------
// Byte helpers.

fn get_u32(blob: &[u8], off: usize, endian: Endian) -> u32 {
    match blob.get(off..off + 4) {
        Some(&[a, b, c, d]) => match endian {
            Endian::Little => u32::from_le_bytes([a, b, c, d]),
            Endian::Big => u32::from_be_bytes([a, b, c, d]),
        },
        _ => 0,
    }
}

fn put_u32(blob: &mut [u8], off: usize, v: u32, endian: Endian) {
    if let Some(slot) = blob.get_mut(off..off + 4) {
        slot.copy_from_slice(&match endian {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        });
    }
}

/// Byte offset of a type's record within the blob it was parsed from.
fn record_offset(btf: &Btf, id: u32) -> usize {
    let ty = btf.type_by_id(id).expect("id in range");
    ty.record().as_ptr() as usize - ty.btf().raw_bytes().as_ptr() as usize
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Seeds.

/// One of every kind: bitfield structs, anonymous nested structs and unions, signed and unsigned
/// enums and enum64s, both FWD flavours, every modifier, varargs, DATASECs, tags, a
/// self-referential list node (forward reference through a pointer) and a packed struct.
fn rich(endian: Endian) -> BtfBuilder {
    let mut b = BtfBuilder::new();
    b.set_endian(endian);
    let int = b.add_int("int", 4, IntEncoding::SIGNED);
    let uint = b.add_int("unsigned int", 4, IntEncoding::NONE);
    let uchar = b.add_int("char", 1, IntEncoding::CHAR);
    let boolean = b.add_int("_Bool", 1, IntEncoding::BOOL);
    let long = b.add_int("long", 8, IntEncoding::SIGNED);
    let ptr = b.add_ptr(int);
    let void_ptr = b.add_ptr(0);
    let arr = b.add_array(uchar, int, 16);
    let arr2d = b.add_array(arr, uint, 4);
    let flex = b.add_array(int, int, 0);
    let flags = b.add_struct(
        "flags",
        4,
        &[
            MemberSpec::bitfield("a", uint, 0, 3),
            MemberSpec::bitfield("b", uint, 3, 5),
            MemberSpec::bitfield("", uint, 8, 0),
            MemberSpec::new("c", uchar, 2),
            MemberSpec::bitfield("d", boolean, 24, 1),
        ],
    );
    let inner_union = b.add_union("", 8, &[MemberSpec::new("as_long", long, 0), MemberSpec::new("as_ptr", ptr, 0)]);
    let inner_struct = b.add_struct("", 16, &[MemberSpec::new("deep", int, 0), MemberSpec::new("", inner_union, 8)]);
    // struct list_head { struct list_head *next, *prev; }: the pointer refers forward.
    let list_ptr = b.next_id();
    let list = list_ptr + 1;
    b.add_ptr(list);
    b.add_struct("list_head", 16, &[MemberSpec::new("next", list_ptr, 0), MemberSpec::new("prev", list_ptr, 8)]);
    let outer = b.add_struct(
        "outer",
        136,
        &[
            MemberSpec::new("x", int, 0),
            MemberSpec::new("", inner_struct, 8),
            MemberSpec::new("name", arr, 24),
            MemberSpec::new("grid", arr2d, 40),
            MemberSpec::new("link", list, 104),
            MemberSpec::new("fl", flags, 120),
            MemberSpec::new("opaque", void_ptr, 128),
            MemberSpec::new("tail", flex, 136),
        ],
    );
    let packed = b.add_struct("packed", 5, &[MemberSpec::new("c", uchar, 0), MemberSpec::new("i", int, 1)]);
    let un = b.add_union("u", 8, &[MemberSpec::new("i", int, 0), MemberSpec::new("l", long, 0)]);
    b.add_enum("color", 4, true, &[("RED", -1), ("GREEN", 7), ("BLUE", i32::MIN)]);
    b.add_enum("small", 1, false, &[("S0", 0), ("S1", 255)]);
    b.add_enum("empty_enum", 4, false, &[]);
    b.add_enum64("big", 8, false, &[("HUGE", 0x1_0000_0002), ("MAX", u64::MAX)]);
    b.add_enum64("sbig", 8, true, &[("NEG", -5i64 as u64)]);
    b.add_fwd("opaque_s", false);
    b.add_fwd("opaque_u", true);
    let td = b.add_typedef("outer_t", outer);
    let vol = b.add_volatile(td);
    let cv = b.add_const(vol);
    b.add_restrict(ptr);
    let tag = b.add_type_tag("rcu", int);
    let tagged_ptr = b.add_ptr(tag);
    let proto = b.add_func_proto(int, &[("o", cv), ("p", tagged_ptr), ("", 0)]);
    let void_proto = b.add_func_proto(0, &[]);
    let func = b.add_func("do_it", proto, linkage::GLOBAL);
    let sfunc = b.add_func("helper", void_proto, linkage::STATIC);
    let var = b.add_var("counter", int, linkage::GLOBAL);
    let var2 = b.add_var("table", arr2d, linkage::STATIC);
    let evar = b.add_var("ext", un, linkage::EXTERN);
    b.add_datasec(
        ".data",
        72,
        &[VarSecinfo { ty: var, offset: 0, size: 4 }, VarSecinfo { ty: var2, offset: 8, size: 64 }],
    );
    b.add_datasec(
        ".ksyms",
        0,
        &[VarSecinfo { ty: evar, offset: 0, size: 8 }, VarSecinfo { ty: sfunc, offset: 0, size: 0 }],
    );
    b.add_datasec(".bss", 0, &[]);
    b.add_float("double", 8);
    b.add_float("float", 4);
    b.add_decl_tag("kfunc", func, -1);
    b.add_decl_tag("param_tag", func, 1);
    b.add_decl_tag("member_tag", outer, 0);
    b.add_decl_tag("packed_tag", packed, -1);
    b.add_typedef("flags_t", flags);
    b
}

/// A split on `base` (built by [`rich`]): types referring to base types and forward to own ones,
/// names both in its own strings and in the base's, anonymous types.
fn split_on(base: &Btf) -> BtfBuilder {
    let int = base.find_by_name_kind("int", Kind::Int).expect("int");
    let outer = base.find_by_name_kind("outer", Kind::Struct).expect("outer");
    let list = base.find_by_name_kind("list_head", Kind::Struct).expect("list_head");
    // Offset of a name that only the base's strings hold: module BTF reuses vmlinux strings.
    let counter = base_string_offset(base, "counter");
    let mut m = BtfBuilder::new_split(base);
    let ptr_fwd = m.next_id();
    m.add_ptr(ptr_fwd + 1);
    let modst = m.add_struct(
        "mod_state",
        40,
        &[
            MemberSpec::new("self", ptr_fwd, 0),
            MemberSpec::new("o", int, 8),
            MemberSpec::new("node", list, 16),
            MemberSpec::bitfield("bits", int, 256, 4),
        ],
    );
    let anon = m.add_struct("", 8, &[MemberSpec::new("hidden", int, 0), MemberSpec::new("", modst, 0)]);
    m.add_type(TypeRecord {
        name_off: counter,
        kind_flag: false,
        data: RecordData::Struct {
            size: 16,
            members: vec![bpfkit_btf::Member { name_off: counter, ty: anon, raw_offset: 0, kind_flag: false }],
        },
    });
    m.add_typedef("outer_alias", outer);
    let c = m.add_const(modst);
    let proto = m.add_func_proto(0, &[("st", c), ("n", int)]);
    let f = m.add_func("mod_init", proto, linkage::GLOBAL);
    let v = m.add_var("mod_var", modst, linkage::GLOBAL);
    m.add_datasec(".data..mod", 40, &[VarSecinfo { ty: v, offset: 0, size: 40 }]);
    m.add_decl_tag("mod_tag", f, -1);
    m.add_enum64("mod_e", 8, false, &[("ME", 1)]);
    m
}

fn base_string_offset(base: &Btf, name: &str) -> u32 {
    let strings = base.own_strings();
    let mut needle = name.as_bytes().to_vec();
    needle.push(0);
    let pos = strings.windows(needle.len()).position(|w| w == needle).expect("name in base strings");
    base.first_string_offset() + pos as u32
}

/// A `struct btf_layout` array with correct entries for every known kind, zeros up to
/// `unknown`, and `(info, elem)` for each listed unknown kind.
fn layout_with(unknown: &[(u8, u8, u8)]) -> Vec<u8> {
    let max = unknown.iter().map(|u| u.0).max().unwrap_or(19).max(19) as usize;
    let mut l = vec![0u8; (max + 1) * 4];
    for k in Kind::ALL {
        let i = k.raw() as usize * 4;
        l[i] = k.info_size() as u8;
        l[i + 1] = k.elem_size() as u8;
    }
    for &(kind, info, elem) in unknown {
        l[kind as usize * 4] = info;
        l[kind as usize * 4 + 1] = elem;
    }
    l
}

fn unknown_record(name_off: u32, kind: u8, vlen: u32, word3: u32, payload_len: usize) -> TypeRecord {
    TypeRecord {
        name_off,
        kind_flag: false,
        data: RecordData::Unknown {
            kind,
            vlen,
            word3,
            payload: (0..payload_len).map(|i| (i * 37 + 11) as u8).collect(),
        },
    }
}

/// The rich BTF plus a 32-byte header and a layout section describing three kinds newer than
/// this crate; one has an odd record size, so the records after it are not 4-byte aligned.
fn with_layout(endian: Endian) -> BtfBuilder {
    let mut b = rich(endian);
    b.set_layout(Some(layout_with(&[(25, 4, 8), (64, 3, 1), (127, 0, 0)])));
    let n = b.add_string("future");
    let f = b.add_type(unknown_record(n, 25, 2, 7, 4 + 16));
    b.add_type(unknown_record(0, 64, 3, 0xdead_beef, 3 + 3));
    b.add_type(unknown_record(n, 127, 0x00ff_ffff, 0, 0));
    b.add_typedef("future_t", f);
    b.add_typedef("after_odd", 1);
    b
}

/// Copies `limit` types of a parsed BTF into a new base, remapping names into fresh strings and
/// references past the copied range to void.
fn copy_prefix(src: &Btf, limit: u32) -> BtfBuilder {
    let mut b = BtfBuilder::new();
    b.set_endian(src.endian());
    let end = limit.min(src.type_count());
    for id in 1..end {
        let rec = src.type_by_id(id).expect("id").to_record();
        let is_union = matches!(rec.data, RecordData::Union { .. });
        let mut s = |off: u32| b.add_string(src.str_at(off).unwrap_or(""));
        let t = |id: u32| if id < end { id } else { 0 };
        let data = match rec.data {
            RecordData::Struct { size, members } | RecordData::Union { size, members } => {
                let members =
                    members.into_iter().map(|m| bpfkit_btf::Member { name_off: s(m.name_off), ty: t(m.ty), ..m });
                let members = members.collect();
                if is_union { RecordData::Union { size, members } } else { RecordData::Struct { size, members } }
            }
            RecordData::Enum { size, values } => RecordData::Enum {
                size,
                values: values.into_iter().map(|v| bpfkit_btf::Enumerator { name_off: s(v.name_off), ..v }).collect(),
            },
            RecordData::Enum64 { size, values } => RecordData::Enum64 {
                size,
                values: values.into_iter().map(|v| bpfkit_btf::Enumerator64 { name_off: s(v.name_off), ..v }).collect(),
            },
            RecordData::FuncProto { ret, params } => RecordData::FuncProto {
                ret: t(ret),
                params: params
                    .into_iter()
                    .map(|p| bpfkit_btf::Param { name_off: s(p.name_off), ty: t(p.ty) })
                    .collect(),
            },
            RecordData::Datasec { size, vars } => {
                RecordData::Datasec { size, vars: vars.into_iter().map(|v| VarSecinfo { ty: t(v.ty), ..v }).collect() }
            }
            RecordData::Array(a) => RecordData::Array(bpfkit_btf::ArrayInfo {
                elem_type: t(a.elem_type),
                index_type: t(a.index_type),
                nelems: a.nelems,
            }),
            RecordData::Ptr(x) => RecordData::Ptr(t(x)),
            RecordData::Typedef(x) => RecordData::Typedef(t(x)),
            RecordData::Volatile(x) => RecordData::Volatile(t(x)),
            RecordData::Const(x) => RecordData::Const(t(x)),
            RecordData::Restrict(x) => RecordData::Restrict(t(x)),
            RecordData::TypeTag(x) => RecordData::TypeTag(t(x)),
            RecordData::Func { proto, linkage } => RecordData::Func { proto: t(proto), linkage },
            RecordData::Var { ty, linkage } => RecordData::Var { ty: t(ty), linkage },
            RecordData::DeclTag { ty, component_idx } => RecordData::DeclTag { ty: t(ty), component_idx },
            other => other,
        };
        let name_off = s(rec.name_off);
        b.add_type(TypeRecord { name_off, kind_flag: rec.kind_flag, data });
    }
    b
}

/// ~300 real types from the running kernel (`None` when its BTF is not readable).
fn vmlinux_prefix() -> Option<Vec<u8>> {
    let vmlinux = Btf::open("/sys/kernel/btf/vmlinux", None).ok()?;
    copy_prefix(&vmlinux, 301).encode().ok()
}

/// Where things are in a valid seed blob, so mutations can aim at fields.
struct RecInfo {
    id: u32,
    off: usize,
    len: usize,
    kind: Kind,
    vlen: usize,
}

struct Seed {
    name: &'static str,
    blob: Vec<u8>,
    endian: Endian,
    base: Option<Arc<Btf>>,
    /// A valid split to parse on top of each mutated-but-valid version of this (base) seed.
    split: Option<Vec<u8>>,
    recs: Vec<RecInfo>,
    hdr_len: usize,
    types: std::ops::Range<usize>,
    strings: std::ops::Range<usize>,
    layout: std::ops::Range<usize>,
    type_count: u32,
    first_id: u32,
    strings_len: u32,
    first_str: u32,
}

impl Seed {
    fn new(name: &'static str, blob: Vec<u8>, base: Option<Arc<Btf>>, split: Option<Vec<u8>>) -> Seed {
        let btf = match &base {
            Some(b) => Btf::parse_split(blob.clone(), b.clone()),
            None => Btf::parse(blob.clone()),
        }
        .unwrap_or_else(|e| panic!("seed {name} must parse: {e}"));
        let h = *btf.header();
        let recs = btf
            .types()
            .map(|t| RecInfo {
                id: t.id(),
                off: record_offset(&btf, t.id()),
                len: t.record().len(),
                kind: t.kind(),
                vlen: t.vlen() as usize,
            })
            .collect();
        let hdr = h.hdr_len as usize;
        Seed {
            name,
            endian: btf.endian(),
            split,
            recs,
            hdr_len: hdr,
            types: hdr + h.type_off as usize..hdr + (h.type_off + h.type_len) as usize,
            strings: hdr + h.str_off as usize..hdr + (h.str_off + h.str_len) as usize,
            layout: hdr + h.layout_off as usize..hdr + (h.layout_off + h.layout_len) as usize,
            type_count: btf.type_count(),
            first_id: btf.first_id(),
            strings_len: btf.strings_len(),
            first_str: btf.first_string_offset(),
            blob,
            base,
        }
    }

    fn parse(&self, blob: Vec<u8>) -> Result<Btf, BtfError> {
        match &self.base {
            Some(b) => Btf::parse_split(blob, b.clone()),
            None => Btf::parse(blob),
        }
    }

    /// Absolute offsets of the fields that hold type ids.
    fn ref_fields(&self, r: &RecInfo) -> Vec<usize> {
        let mut out = Vec::new();
        if r.kind.has_type_ref() {
            out.push(r.off + 8);
        }
        let elems = r.off + 12 + r.kind.info_size();
        match r.kind {
            Kind::Array => out.extend([r.off + 12, r.off + 16]),
            Kind::Struct | Kind::Union => out.extend((0..r.vlen).map(|i| elems + i * 12 + 4)),
            Kind::FuncProto => out.extend((0..r.vlen).map(|i| elems + i * 8 + 4)),
            Kind::Datasec => out.extend((0..r.vlen).map(|i| elems + i * 12)),
            _ => {}
        }
        out
    }

    /// Absolute offsets of the fields that hold string offsets.
    fn name_fields(&self, r: &RecInfo) -> Vec<usize> {
        let mut out = vec![r.off];
        let elems = r.off + 12 + r.kind.info_size();
        match r.kind {
            Kind::Struct | Kind::Union | Kind::Enum64 => out.extend((0..r.vlen).map(|i| elems + i * 12)),
            Kind::Enum | Kind::FuncProto => out.extend((0..r.vlen).map(|i| elems + i * 8)),
            _ => {}
        }
        out
    }

    /// Every record boundary, section boundary and header end.
    fn boundaries(&self) -> Vec<usize> {
        let mut b = vec![0, 4, 8, 24, self.hdr_len, self.blob.len()];
        for r in &self.recs {
            b.extend([r.off, r.off + 4, r.off + 8, r.off + 12, r.off + r.len]);
        }
        for range in [&self.types, &self.strings, &self.layout] {
            b.extend([range.start, range.end]);
        }
        b.sort_unstable();
        b.dedup();
        b
    }
}

const EXTREMES: [u32; 16] =
    [0, 1, 2, 3, 4, 7, 24, 32, 0xff, 0xffff, 0x1_0000, 0x00ff_ffff, 0x7fff_ffff, 0x8000_0000, 0xffff_fffe, 0xffff_ffff];

/// Values worth trying in a header field that currently holds `v`.
fn header_values(v: u32, blob_len: usize) -> Vec<u32> {
    let mut out = EXTREMES.to_vec();
    let len = blob_len as u32;
    out.extend([v.wrapping_add(1), v.wrapping_sub(1), v.wrapping_add(2), v.wrapping_add(4), v.wrapping_sub(4)]);
    out.extend([len, len.wrapping_sub(1), len + 1, len - 24, len - 23, 28, 36, v | 1, v / 2]);
    out
}

// ---------------------------------------------------------------------------------------------
// Mutations.

/// One random mutation of `blob` (already possibly mutated), aimed by `seed`'s layout.
fn mutate_once(rng: &mut Rng, seed: &Seed, blob: &mut Vec<u8>) {
    let e = seed.endian;
    let rec = |rng: &mut Rng| &seed.recs[rng.below(seed.recs.len())];
    match rng.below(16) {
        // Truncate at a random length or a boundary (± a few bytes).
        0 => {
            let len = if rng.chance(2) {
                rng.below(blob.len() + 1)
            } else {
                let b = seed.boundaries();
                (rng.pick(&b) + rng.below(7)).saturating_sub(3)
            };
            blob.truncate(len);
        }
        // Flip bits.
        1 => {
            for _ in 0..1 + rng.below(4) {
                if blob.is_empty() {
                    break;
                }
                let i = rng.below(blob.len());
                blob[i] ^= 1 << rng.below(8);
            }
        }
        // Header field to an extreme or off-by-a-little value.
        2 | 3 => {
            let fields = if seed.hdr_len >= 32 { 7 } else { 5 };
            let off = 4 + 4 * rng.below(fields);
            let vals = header_values(get_u32(blob, off, e), blob.len().max(24));
            put_u32(blob, off, rng.pick(&vals), e);
        }
        // Kind rewritten: 0, unknown, or another known kind (whose record size differs).
        4 => {
            let r = rec(rng);
            let info = get_u32(blob, r.off + 4, e);
            let known = 1 + rng.below(19) as u32;
            let kind = rng.pick(&[0u32, 20, 21, 24, 25, 26, 31, 32, 63, 64, 100, 126, 127, known]);
            put_u32(blob, r.off + 4, (info & 0x80ff_ffff) | kind << 24, e);
        }
        // vlen rewritten: huge, off by one, 16-bit boundary.
        5 => {
            let r = rec(rng);
            let info = get_u32(blob, r.off + 4, e);
            let vlen =
                rng.pick(&[0, 1, 0xffff, 0x1_0000, 0x00ff_ffff, r.vlen as u32 + 1, (r.vlen as u32).saturating_sub(1)]);
            put_u32(blob, r.off + 4, (info & 0xff00_0000) | vlen, e);
        }
        // kind_flag toggled (bitfield members, signed enums, FWD union).
        6 => {
            let r = rec(rng);
            let info = get_u32(blob, r.off + 4, e);
            put_u32(blob, r.off + 4, info ^ 0x8000_0000, e);
        }
        // A name offset past the end, at the end, into the middle of a string, into the base.
        7 => {
            let r = rec(rng);
            let fields = seed.name_fields(r);
            let any = rng.below(seed.strings_len as usize) as u32;
            let v = rng.pick(&[
                seed.strings_len,
                seed.strings_len - 1,
                seed.strings_len + 1,
                u32::MAX,
                0x8000_0000,
                seed.first_str,
                seed.first_str.saturating_sub(1),
                any,
            ]);
            put_u32(blob, rng.pick(&fields), v, e);
        }
        // A type reference: dangling, to itself, to void, to a random type (cycles, kind
        // confusion), to the last valid id, into the base.
        8..=10 => {
            let r = rec(rng);
            let fields = seed.ref_fields(r);
            if fields.is_empty() {
                return;
            }
            let any1 = 1 + rng.below(seed.type_count as usize - 1) as u32;
            let any2 = 1 + rng.below(seed.type_count as usize - 1) as u32;
            let v = rng.pick(&[
                seed.type_count,
                seed.type_count + 1,
                u32::MAX,
                0x00ff_ffff,
                r.id,
                r.id,
                0,
                seed.type_count - 1,
                any1,
                any2,
                seed.first_id,
                seed.first_id.saturating_sub(1),
            ]);
            put_u32(blob, rng.pick(&fields), v, e);
        }
        // A deliberate two-record cycle: A refers to B and B to A.
        11 => {
            let refs: Vec<&RecInfo> = seed.recs.iter().filter(|r| !seed.ref_fields(r).is_empty()).collect();
            if refs.len() < 2 {
                return;
            }
            let (a, b) = (refs[rng.below(refs.len())], refs[rng.below(refs.len())]);
            put_u32(blob, rng.pick(&seed.ref_fields(a)), b.id, e);
            put_u32(blob, rng.pick(&seed.ref_fields(b)), a.id, e);
        }
        // Any u32 of the type section to an extreme value (sizes, offsets, nelems, int words).
        12 => {
            if seed.types.len() >= 4 {
                let off = seed.types.start + 4 * rng.below(seed.types.len() / 4);
                put_u32(blob, off, rng.pick(&EXTREMES), e);
            }
        }
        // String damage: no terminating NUL, no leading NUL, a string section one byte short.
        13 => match rng.below(4) {
            0 => {
                if let Some(b) = blob.get_mut(seed.strings.end.wrapping_sub(1)) {
                    *b = b'x';
                }
            }
            1 => {
                if let Some(b) = blob.get_mut(seed.strings.start) {
                    *b = b'x';
                }
            }
            2 => {
                let len = get_u32(blob, 20, e);
                put_u32(blob, 20, len.saturating_sub(1 + rng.below(3) as u32), e);
            }
            _ => {
                // Invalid UTF-8 in a name.
                let i = seed.strings.start + rng.below(seed.strings.len());
                if let Some(b) = blob.get_mut(i) {
                    if *b != 0 {
                        *b = 0xff;
                    }
                }
            }
        },
        // Layout damage: an entry (known or unknown kind) to random sizes, or a ragged length.
        14 => {
            if seed.layout.is_empty() {
                return;
            }
            if rng.chance(4) {
                let len = get_u32(blob, 28, e);
                put_u32(blob, 28, len.wrapping_sub(1 + rng.below(4) as u32), e);
            } else {
                let entries = seed.layout.len() / 4;
                let i = seed.layout.start + 4 * rng.below(entries) + rng.below(2);
                if let Some(b) = blob.get_mut(i) {
                    let any = rng.below(256) as u8;
                    *b = rng.pick(&[0, 1, 3, 4, 8, 12, 255, any]);
                }
            }
        }
        // Move the type/string boundary: string bytes read as records, or records as strings.
        _ => {
            let delta = rng.pick(&[4u32, 8, 12, 16, 1, 3]);
            let (tl, so, sl) = (get_u32(blob, 12, e), get_u32(blob, 16, e), get_u32(blob, 20, e));
            if rng.chance(2) {
                put_u32(blob, 12, tl.wrapping_add(delta), e);
                put_u32(blob, 16, so.wrapping_add(delta), e);
                put_u32(blob, 20, sl.wrapping_sub(delta), e);
            } else {
                put_u32(blob, 12, tl.wrapping_sub(delta), e);
                put_u32(blob, 16, so.wrapping_sub(delta), e);
                put_u32(blob, 20, sl.wrapping_add(delta), e);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Checking one blob.

#[derive(Default, Debug)]
struct Stats {
    cases: usize,
    parsed: usize,
    errors: usize,
    items: usize,
}

/// A parse error must be one of the parse errors, with a position inside the blob.
fn check_parse_error(e: &BtfError, blob_len: usize) {
    assert!(!e.to_string().is_empty());
    match e {
        BtfError::BadType { offset, fault, .. } => {
            assert!(*offset < blob_len, "fault offset {offset} outside the {blob_len}-byte blob: {e}");
            match fault {
                TypeFault::Truncated { need, available } => assert!(need > available, "{e}"),
                TypeFault::Invalid(msg) => assert!(!msg.contains("bug"), "internal inconsistency: {e}"),
                _ => {}
            }
        }
        BtfError::TooShort { .. }
        | BtfError::BadMagic { .. }
        | BtfError::UnsupportedVersion(_)
        | BtfError::BadHeader { .. }
        | BtfError::SectionOutOfBounds { .. }
        | BtfError::SectionsOverlap { .. }
        | BtfError::BadStrings { .. }
        | BtfError::BadLayout { .. }
        | BtfError::EndiannessMismatch => {}
        other => panic!("unexpected error from a parse: {other:?}"),
    }
}

/// Errors a query may return on a valid parse for an in-range id: never a panic, never a
/// "not found" for something the validation pass proved present.
fn query_error_ok(e: &BtfError) -> bool {
    matches!(e, BtfError::TooDeep { .. } | BtfError::WrongKind { .. } | BtfError::SizeOverflow { .. })
}

/// Runs every query on every type of a valid parse and checks the answers agree with each
/// other; returns how many items (types and vlen elements) were looked at.
fn exercise(btf: &Btf) -> usize {
    let count = btf.type_count();
    let mut seen = 0;
    assert!(btf.first_id() >= 1 && btf.first_id() <= count);
    assert_eq!(count - btf.first_id(), btf.own_type_count() as u32);
    let _ = format!("{btf:?}");
    for id in [0, count, count + 1, count.saturating_add(1 << 20), u32::MAX] {
        match btf.type_by_id(id) {
            Err(BtfError::IdOutOfRange { id: got, end }) => assert!(got == id && end == count),
            other => panic!("type_by_id({id}) of {count} types: {other:?}"),
        }
        assert!(btf.kind_of(id).is_none());
        let _ = (btf.size_of(id), btf.align_of(id), btf.find_member(id, "x"));
        if id != 0 {
            assert!(matches!(btf.resolve(id), Err(BtfError::IdOutOfRange { .. })));
        }
    }
    assert_eq!(btf.resolve(0).unwrap(), 0);
    for id in 1..count {
        let ty = btf.type_by_id(id).expect("every id below type_count exists");
        seen += 1;
        assert_eq!(ty.id(), id);
        let kind = ty.kind();
        assert_eq!(btf.kind_of(id), Some(kind));
        assert!(!matches!(kind, Kind::Unknown(n) if n < 20), "{kind:?}");
        assert_eq!(Kind::from_raw(kind.raw()), Some(kind));
        assert!(ty.record().len() >= 12);
        let _ = (ty.info(), ty.kind_flag(), ty.size(), ty.ref_type(), ty.name_bytes(), format!("{ty:?}"));
        let name = ty.name();
        match &name {
            Ok(_) | Err(BtfError::InvalidUtf8 { .. }) => {}
            Err(e) => panic!("[{id}] name: {e:?}"),
        }

        // Kind-specific data, iterated completely.
        let vlen = ty.vlen() as usize;
        let mut member_names = Vec::new();
        match ty.details() {
            TypeDetails::Struct(ms) | TypeDetails::Union(ms) => {
                assert_eq!(ms.total_len(), vlen);
                assert!(ms.get(vlen).is_none());
                let all: Vec<_> = ms.clone().collect();
                assert_eq!(all.len(), vlen);
                assert_eq!(ty.members().count(), vlen);
                for (i, m) in all.iter().enumerate() {
                    assert_eq!(ms.get(i).as_ref(), Some(m));
                    let _ = (m.bit_offset(), m.bitfield_size());
                    if !m.kind_flag {
                        assert_eq!(m.bitfield_size(), 0);
                    }
                    assert!(m.ty < count, "member type {} validated below {count}", m.ty);
                    match btf.str_at(m.name_off) {
                        Ok(n) => member_names.push(n),
                        Err(BtfError::InvalidUtf8 { .. }) => {}
                        Err(e) => panic!("[{id}] member name: {e:?}"),
                    }
                }
                seen += vlen;
            }
            TypeDetails::Enum(es) => {
                assert_eq!(es.len(), vlen);
                for en in es {
                    let _ = (en.value(), btf.str_at(en.name_off));
                    assert!(btf.str_bytes_at(en.name_off).is_ok());
                }
                seen += vlen;
            }
            TypeDetails::Enum64(es) => {
                assert_eq!(es.len(), vlen);
                for en in es {
                    let _ = (en.value(), en.raw_value());
                    assert!(btf.str_bytes_at(en.name_off).is_ok());
                }
                seen += vlen;
            }
            TypeDetails::FuncProto { ret, params } => {
                assert!(ret < count);
                assert_eq!(params.len(), vlen);
                for p in params {
                    assert!(p.ty < count);
                    assert!(btf.str_bytes_at(p.name_off).is_ok());
                }
                seen += vlen;
            }
            TypeDetails::Datasec(vs) => {
                assert_eq!(vs.len(), vlen);
                for v in vs {
                    assert!(v.ty < count);
                    let _ = btf.type_by_id(v.ty);
                }
                seen += vlen;
            }
            TypeDetails::Array(a) => {
                assert!(a.elem_type < count && a.index_type < count);
            }
            TypeDetails::Int(info) => {
                let _ = (info.encoding().is_signed(), info.offset(), info.bits());
            }
            TypeDetails::Unknown { kind: k, payload } => {
                assert_eq!(Kind::Unknown(k), kind);
                assert_eq!(payload.len() + 12, ty.record().len());
            }
            TypeDetails::Ptr(t)
            | TypeDetails::Typedef(t)
            | TypeDetails::Volatile(t)
            | TypeDetails::Const(t)
            | TypeDetails::Restrict(t)
            | TypeDetails::TypeTag(t)
            | TypeDetails::Func { proto: t, .. }
            | TypeDetails::Var { ty: t, .. }
            | TypeDetails::DeclTag { ty: t, .. } => {
                assert!(t < count);
                assert_eq!(ty.ref_type(), Some(t));
            }
            TypeDetails::Fwd { .. } | TypeDetails::Float => {}
        }

        // Reference-following queries: bounded, typed errors only.
        match btf.resolve(id) {
            Ok(r) => {
                assert!(r < count);
                let rk = btf.kind_of(r);
                assert!(r == 0 || !matches!(rk, Some(k) if k.is_modifier() || k == Kind::Typedef), "{id} -> {r}");
                assert_eq!(btf.resolve(r).unwrap(), r, "resolve is idempotent");
            }
            Err(e) => assert!(matches!(e, BtfError::TooDeep { .. }), "resolve({id}): {e:?}"),
        }
        match btf.skip_modifiers(id) {
            Ok(r) => assert!(r < count),
            Err(e) => assert!(matches!(e, BtfError::TooDeep { .. }), "skip_modifiers({id}): {e:?}"),
        }
        match btf.size_of(id) {
            Ok(size) => {
                if let Some(s) = ty.size() {
                    assert_eq!(size, s as u64, "size_of({id}) of a sized kind");
                }
            }
            Err(e) => assert!(query_error_ok(&e), "size_of({id}): {e:?}"),
        }
        match btf.align_of(id) {
            Ok(a) => assert!(a >= 1, "align_of({id}) = 0"),
            Err(e) => assert!(query_error_ok(&e), "align_of({id}): {e:?}"),
        }
        // Member lookup by each member's own name must find a member of that name.
        for m in &member_names {
            match btf.find_member(id, m) {
                Ok(Some(found)) => {
                    if !m.is_empty() {
                        assert_eq!(btf.str_at(found.member.name_off).ok(), Some(*m), "find_member({id}, {m:?})");
                    }
                    assert!(btf.kind_of(found.parent).is_some_and(|k| k == Kind::Struct || k == Kind::Union));
                }
                Ok(None) => panic!("find_member({id}, {m:?}) missed a member that is there"),
                Err(e) => assert!(matches!(e, BtfError::TooDeep { .. }), "find_member({id}, {m:?}): {e:?}"),
            }
        }
        match btf.find_member(id, "\u{1}no such member") {
            Ok(None) => {
                assert!(btf.resolve(id).is_ok_and(|r| matches!(btf.kind_of(r), Some(Kind::Struct | Kind::Union))))
            }
            Ok(Some(f)) => panic!("found a member that does not exist: {f:?}"),
            Err(e) => assert!(query_error_ok(&e), "find_member({id}): {e:?}"),
        }

        // Name lookups must find this type among the types of its name and kind.
        if let Ok(name) = name {
            if !name.is_empty() {
                let all = btf.find_all_by_name(name);
                assert!(all.windows(2).all(|w| w[0] < w[1]), "ascending ids: {all:?}");
                assert!(all.contains(&id), "find_all_by_name({name:?}) = {all:?} misses [{id}]");
                let same_kind = btf.find_all_by_name_kind(name, kind);
                assert!(same_kind.contains(&id), "find_all_by_name_kind({name:?}, {kind}) misses [{id}]");
                let first = btf.find_by_name_kind(name, kind);
                assert_eq!(first, same_kind.first().copied());
                assert!(first.is_some_and(|f| f <= id));
                if id >= btf.first_id() {
                    assert!(btf.find_own_by_name_kind(name, kind).is_some_and(|f| f <= id && f >= btf.first_id()));
                }
            }
        }
    }
    // Flavoured types: exactly the own types whose name has a `___suffix`.
    let flavoured: Vec<u32> = (btf.first_id()..btf.type_count())
        .filter(|&id| btf.type_by_id(id).and_then(|t| t.name()).is_ok_and(|n| bpfkit_btf::essential_name(n) != n))
        .collect();
    assert_eq!(btf.flavoured_types(), flavoured.as_slice(), "flavoured types");
    let _ = (btf.is_sorted_by_name(), btf.name_index_kind(), btf.pointer_size(), btf.layout());
    assert!(matches!(btf.str_at(btf.strings_len()), Err(BtfError::StringOutOfRange { .. })));
    assert!(btf.find_all_by_name("").is_empty());
    assert!(btf.find_all_by_name("\u{1}nothing").is_empty());

    // Re-encoding a valid parse must parse again to the same records, and be a fixed point.
    let bytes = BtfBuilder::from_btf(btf).encode().expect("encode a valid parse");
    let again = match btf.base() {
        Some(base) => Btf::parse_split(bytes.clone(), base.clone()),
        None => Btf::parse(bytes.clone()),
    }
    .unwrap_or_else(|e| panic!("a re-encoded valid parse must parse: {e}"));
    assert_eq!(again.type_count(), count);
    assert!(btf.types().map(|t| t.to_record()).eq(again.types().map(|t| t.to_record())));
    assert_eq!(BtfBuilder::from_btf(&again).encode().unwrap(), bytes, "re-encoding is a fixed point");
    seen
}

/// Parses one case and checks it; a valid base seed also gets its split parsed on top.
fn run_case(seed: &Seed, blob: Vec<u8>, stats: &mut Stats) {
    stats.cases += 1;
    let len = blob.len();
    match seed.parse(blob) {
        Ok(btf) => {
            stats.parsed += 1;
            stats.items += exercise(&btf);
            if let Some(split) = &seed.split {
                let base = Arc::new(btf);
                match Btf::parse_split(split.clone(), base) {
                    Ok(s) => stats.items += exercise(&s),
                    Err(e) => check_parse_error(&e, split.len()),
                }
            }
        }
        Err(e) => {
            stats.errors += 1;
            check_parse_error(&e, len);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The watchdog.

/// What the mutation loop is working on, for the watchdog's report.
#[derive(Default)]
struct Progress {
    done: AtomicU64,
    finished: AtomicBool,
    current: Mutex<(String, Vec<u8>)>,
}

impl Progress {
    fn start(&self, what: &str, blob: &[u8]) {
        let mut cur = self.current.lock().unwrap();
        cur.0.clear();
        cur.0.push_str(what);
        cur.1.clear();
        cur.1.extend_from_slice(blob);
    }
}

/// Runs `f` in a thread; fails if one case makes no progress for `stall` or all take `limit`.
fn with_watchdog(name: &str, stall: Duration, limit: Duration, f: impl FnOnce(&Progress) + Send + 'static) {
    let progress = Arc::new(Progress::default());
    let p = progress.clone();
    let handle = std::thread::spawn(move || {
        f(&p);
        p.finished.store(true, Ordering::SeqCst);
    });
    let start = Instant::now();
    let (mut last, mut last_at) = (0, Instant::now());
    while !handle.is_finished() {
        std::thread::sleep(Duration::from_millis(10));
        let done = progress.done.load(Ordering::Relaxed);
        if done != last {
            (last, last_at) = (done, Instant::now());
        }
        if last_at.elapsed() > stall || start.elapsed() > limit {
            let cur = progress.current.lock().map(|c| (c.0.clone(), hex(&c.1))).unwrap_or_default();
            panic!("{name}: case {done} ({}) hangs: no progress for {:?}; blob: {}", cur.0, last_at.elapsed(), cur.1);
        }
    }
    if let Err(panic) = handle.join() {
        let cur = progress.current.lock().map(|c| (c.0.clone(), hex(&c.1))).unwrap_or_default();
        eprintln!("{name}: panicked in case {} ({}); blob: {}", progress.done.load(Ordering::Relaxed), cur.0, cur.1);
        std::panic::resume_unwind(panic);
    }
    assert!(progress.finished.load(Ordering::SeqCst));
}

/// Runs `cases` random (stacked) mutations of `seed` plus the deterministic sweeps.
fn mutate_seed(seed: &Seed, rng_seed: u64, cases: usize, progress: &Progress) -> Stats {
    let mut stats = Stats::default();
    let case = |what: &str, blob: Vec<u8>, stats: &mut Stats| {
        progress.start(what, &blob);
        run_case(seed, blob, stats);
        progress.done.fetch_add(1, Ordering::Relaxed);
    };
    case("unmodified seed", seed.blob.clone(), &mut stats);
    // Truncation at every length (small seeds) or at every boundary ± 3 and random lengths.
    if seed.blob.len() <= 4096 {
        for len in 0..seed.blob.len() {
            case("truncated", seed.blob[..len].to_vec(), &mut stats);
        }
    } else {
        for b in seed.boundaries() {
            for len in b.saturating_sub(3)..(b + 4).min(seed.blob.len()) {
                case("truncated at a boundary", seed.blob[..len].to_vec(), &mut stats);
            }
        }
    }
    // The type section ending at every record boundary ± 3 (the blob keeps its strings).
    for r in &seed.recs {
        for end in [r.off, r.off + 4, r.off + 11, r.off + r.len - 1, r.off + r.len - 4] {
            let mut blob = seed.blob.clone();
            put_u32(&mut blob, 12, (end - seed.types.start) as u32, seed.endian);
            case("type_len at a record boundary", blob, &mut stats);
        }
    }
    // Every header field to every interesting value.
    let fields = if seed.hdr_len >= 32 { 7 } else { 5 };
    for f in 0..fields {
        let off = 4 + 4 * f;
        for v in header_values(get_u32(&seed.blob, off, seed.endian), seed.blob.len()) {
            let mut blob = seed.blob.clone();
            put_u32(&mut blob, off, v, seed.endian);
            case("header field", blob, &mut stats);
        }
    }
    // Every record's kind to 0 and to unknown kinds; every reference to itself and past the end.
    for r in &seed.recs {
        for kind in [0u32, 20, 25, 127] {
            let mut blob = seed.blob.clone();
            let info = get_u32(&blob, r.off + 4, seed.endian);
            put_u32(&mut blob, r.off + 4, (info & 0x80ff_ffff) | kind << 24, seed.endian);
            case("kind rewritten", blob, &mut stats);
        }
        for field in seed.ref_fields(r) {
            for target in [r.id, seed.type_count, u32::MAX] {
                let mut blob = seed.blob.clone();
                put_u32(&mut blob, field, target, seed.endian);
                case("reference rewritten", blob, &mut stats);
            }
        }
    }
    // Random stacked mutations.
    let mut rng = Rng::new(rng_seed);
    for _ in 0..cases {
        let mut blob = seed.blob.clone();
        for _ in 0..1 + rng.below(3) * rng.below(2) {
            mutate_once(&mut rng, seed, &mut blob);
        }
        case("random mutation", blob, &mut stats);
    }
    stats
}

fn report(seed: &Seed, what: &str, stats: &Stats) {
    let name = format!("{} {what}", seed.name);
    println!(
        "{name}: {} cases: {} parsed ({} items queried), {} typed errors",
        stats.cases, stats.parsed, stats.items, stats.errors
    );
    assert!(stats.parsed > 50 && stats.errors > 50, "{name}: mutations should yield both outcomes: {stats:?}");
}

// ---------------------------------------------------------------------------------------------
// The mutation tests.

#[test]
fn mutated_base_blobs_never_panic_or_hang() {
    with_watchdog("base mutations", Duration::from_secs(10), Duration::from_secs(60), |progress| {
        for (i, endian) in [Endian::Little, Endian::Big].into_iter().enumerate() {
            let blob = rich(endian).encode().expect("encode seed");
            let base = Arc::new(Btf::parse(blob.clone()).expect("seed"));
            let split = split_on(&base).encode().expect("encode split");
            let seed = Seed::new("rich", blob, None, Some(split));
            assert!(seed.recs.len() > 40, "{} types", seed.recs.len());
            let stats = mutate_seed(&seed, 0x5eed_0001 + i as u64, 7_000, progress);
            report(&seed, &format!("({endian:?}, {} bytes)", seed.blob.len()), &stats);
        }
    });
}

#[test]
fn mutated_split_blobs_never_panic_or_hang() {
    with_watchdog("split mutations", Duration::from_secs(10), Duration::from_secs(60), |progress| {
        for (i, endian) in [Endian::Little, Endian::Big].into_iter().enumerate() {
            let base = Arc::new(Btf::parse(rich(endian).encode().unwrap()).expect("base"));
            let split = split_on(&base).encode().expect("encode split");
            let seed = Seed::new("split", split, Some(base), None);
            let stats = mutate_seed(&seed, 0x5eed_0002 + i as u64, 4_000, progress);
            report(&seed, &format!("({endian:?}, {} bytes)", seed.blob.len()), &stats);
        }
    });
}

#[test]
fn mutated_layout_blobs_never_panic_or_hang() {
    with_watchdog("layout mutations", Duration::from_secs(10), Duration::from_secs(60), |progress| {
        for (i, endian) in [Endian::Little, Endian::Big].into_iter().enumerate() {
            let seed = Seed::new("layout", with_layout(endian).encode().unwrap(), None, None);
            assert_eq!(seed.hdr_len, 32);
            let stats = mutate_seed(&seed, 0x5eed_0003 + i as u64, 2_500, progress);
            report(&seed, &format!("({endian:?}, {} bytes)", seed.blob.len()), &stats);
        }
    });
}

#[test]
fn mutated_vmlinux_prefix_never_panics_or_hangs() {
    let Some(blob) = vmlinux_prefix() else {
        println!("/sys/kernel/btf/vmlinux not readable: skipped (the synthetic seeds still run)");
        return;
    };
    with_watchdog("vmlinux mutations", Duration::from_secs(10), Duration::from_secs(60), move |progress| {
        let seed = Seed::new("vmlinux prefix", blob, None, None);
        assert!(seed.recs.len() >= 250, "{} types copied", seed.recs.len());
        let stats = mutate_seed(&seed, 0x5eed_0004, 4_000, progress);
        report(&seed, &format!("({} types, {} bytes)", seed.recs.len(), seed.blob.len()), &stats);
    });
}

// ---------------------------------------------------------------------------------------------
// Targeted damage: the exact error and where.

fn seed_parts(endian: Endian) -> (Vec<u8>, Btf) {
    let blob = rich(endian).encode().unwrap();
    let btf = Btf::parse(blob.clone()).unwrap();
    (blob, btf)
}

#[test]
fn dangling_member_type_names_the_record_and_offset() {
    for endian in [Endian::Little, Endian::Big] {
        let (good, btf) = seed_parts(endian);
        let outer = btf.find_by_name_kind("outer", Kind::Struct).unwrap();
        let at = record_offset(&btf, outer);
        let end = btf.type_count();
        // Member 2's type field: 12-byte header, 12 bytes per member, type at +4.
        for target in [end, end + 7, u32::MAX] {
            let mut bad = good.clone();
            put_u32(&mut bad, at + 12 + 2 * 12 + 4, target, endian);
            match Btf::parse(bad) {
                Err(BtfError::BadType {
                    id,
                    offset,
                    fault: TypeFault::BadTypeRef { field: "member type", target: t, end: e },
                }) => assert_eq!((id, offset, t, e), (outer, at, target, end)),
                other => panic!("{other:?}"),
            }
        }
        // The last valid id is fine.
        let mut ok = good.clone();
        put_u32(&mut ok, at + 12 + 2 * 12 + 4, end - 1, endian);
        exercise(&Btf::parse(ok).expect("a reference to the last type is valid"));
    }
    // In a split: the id and offset are the split's own.
    let base = Arc::new(Btf::parse(rich(Endian::Little).encode().unwrap()).unwrap());
    let good = split_on(&base).encode().unwrap();
    let split = Btf::parse_split(good.clone(), base.clone()).unwrap();
    let st = split.find_by_name_kind("mod_state", Kind::Struct).unwrap();
    let at = record_offset(&split, st);
    let mut bad = good;
    put_u32(&mut bad, at + 12 + 12 + 4, split.type_count(), Endian::Little);
    match Btf::parse_split(bad, base) {
        Err(BtfError::BadType { id, offset, fault: TypeFault::BadTypeRef { field: "member type", .. } }) => {
            assert_eq!((id, offset), (st, at))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn truncated_records_are_reported_where_they_start() {
    let (good, btf) = seed_parts(Endian::Little);
    let outer = btf.find_by_name_kind("outer", Kind::Struct).unwrap();
    let at = record_offset(&btf, outer);
    let full = btf.type_by_id(outer).unwrap().record().len();
    let types_start = 24;
    // The type section ends inside outer's members, then inside its header.
    for (keep, need) in [(full - 1, full), (12 + 5, full), (11, 12), (1, 12)] {
        let mut bad = good.clone();
        put_u32(&mut bad, 12, (at + keep - types_start) as u32, Endian::Little);
        match Btf::parse(bad) {
            Err(BtfError::BadType { id, offset, fault: TypeFault::Truncated { need: n, available } }) => {
                assert_eq!((id, offset, n, available), (outer, at, need, keep))
            }
            other => panic!("keep {keep}: {other:?}"),
        }
    }
    // A vlen that runs past the section: the need is computed without overflow.
    let mut bad = good.clone();
    let info = get_u32(&bad, at + 4, Endian::Little);
    put_u32(&mut bad, at + 4, (info & 0xff00_0000) | 0x00ff_ffff, Endian::Little);
    match Btf::parse(bad) {
        Err(BtfError::BadType { id, offset, fault: TypeFault::Truncated { need, .. } }) => {
            assert_eq!((id, offset, need), (outer, at, 12 + 12 * 0x00ff_ffff))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn kinds_names_and_header_faults_are_precise() {
    let (good, btf) = seed_parts(Endian::Little);
    let le = Endian::Little;
    let ptr = 6; // the first PTR in `rich`
    assert_eq!(btf.kind_of(ptr), Some(Kind::Ptr));
    let at = record_offset(&btf, ptr);

    let mut bad = good.clone();
    bad[0] = 0x12;
    assert!(matches!(Btf::parse(bad), Err(BtfError::BadMagic { found: [0x12, 0xeb] })));
    assert!(matches!(Btf::parse(good[..10].to_vec()), Err(BtfError::TooShort { len: 10, need: 24 })));
    assert!(matches!(Btf::parse(Vec::new()), Err(BtfError::TooShort { len: 0, .. })));
    let mut bad = good.clone();
    bad[2] = 2;
    assert!(matches!(Btf::parse(bad), Err(BtfError::UnsupportedVersion(2))));
    let mut bad = good.clone();
    bad[3] = 0x80;
    assert!(matches!(Btf::parse(bad), Err(BtfError::BadHeader { reason: HeaderFault::UnknownFlags(0x80) })));

    // hdr_len: too small, past the end, unaligned, unknown non-zero extension bytes.
    for (hdr_len, want) in [
        (0, HeaderFault::LengthTooSmall(0)),
        (20, HeaderFault::LengthTooSmall(20)),
        (u32::MAX, HeaderFault::LengthPastEnd { hdr_len: u32::MAX, len: good.len() }),
        (26, HeaderFault::LengthUnaligned { hdr_len: 26 }),
    ] {
        let mut bad = good.clone();
        put_u32(&mut bad, 4, hdr_len, le);
        match Btf::parse(bad) {
            Err(BtfError::BadHeader { reason }) => assert_eq!(reason, want),
            other => panic!("hdr_len {hdr_len}: {other:?}"),
        }
    }
    // A 40-byte header whose bytes 32.. are not zero (fields this crate does not know).
    let mut long_hdr = good[..24].to_vec();
    put_u32(&mut long_hdr, 4, 40, le);
    long_hdr.extend_from_slice(&[0; 8]);
    long_hdr.extend_from_slice(&[0, 0, 0, 0, 0, 9, 0, 0]);
    long_hdr.extend_from_slice(&good[24..]);
    match Btf::parse(long_hdr.clone()) {
        Err(BtfError::BadHeader { reason: HeaderFault::UnknownNonZero { offset: 37 } }) => {}
        other => panic!("{other:?}"),
    }
    long_hdr[37] = 0;
    let btf40 = Btf::parse(long_hdr).expect("a longer header with zero extension bytes is valid");
    assert_eq!(btf40.header().hdr_len, 40);
    exercise(&btf40);

    // Sections: out of bounds, unaligned types, overlapping.
    for (field, value, section) in [(20, u32::MAX, "string"), (12, u32::MAX - 1, "type"), (16, u32::MAX, "string")] {
        let mut bad = good.clone();
        put_u32(&mut bad, field, value, le);
        match Btf::parse(bad) {
            Err(BtfError::SectionOutOfBounds { section: s, .. }) => assert_eq!(s, section),
            other => panic!("field {field} = {value:#x}: {other:?}"),
        }
    }
    let mut bad = good.clone();
    put_u32(&mut bad, 8, 2, le);
    assert!(matches!(Btf::parse(bad), Err(BtfError::BadHeader { reason: HeaderFault::TypesUnaligned(2) })));
    let mut bad = good.clone();
    put_u32(&mut bad, 16, 8, le);
    assert!(matches!(Btf::parse(bad), Err(BtfError::SectionsOverlap { first: "type", second: "string" })));

    // Strings: no terminating NUL, a base not starting with the empty string, no strings at all.
    let mut bad = good.clone();
    *bad.last_mut().unwrap() = b'x';
    assert!(matches!(Btf::parse(bad), Err(BtfError::BadStrings { .. })));
    let str_start = 24 + get_u32(&good, 16, le) as usize;
    let mut bad = good.clone();
    bad[str_start] = b'x';
    assert!(matches!(Btf::parse(bad), Err(BtfError::BadStrings { .. })));
    let mut bad = good.clone();
    put_u32(&mut bad, 20, 0, le);
    assert!(matches!(Btf::parse(bad), Err(BtfError::BadStrings { .. })));

    // Kind 0, unknown kinds without a layout section, names past the strings.
    let mut bad = good.clone();
    put_u32(&mut bad, at + 4, 0, le);
    assert!(
        matches!(Btf::parse(bad), Err(BtfError::BadType { id: 6, fault: TypeFault::KindZero, offset }) if offset == at)
    );
    for kind in [20u8, 42, 127] {
        let mut bad = good.clone();
        put_u32(&mut bad, at + 4, (kind as u32) << 24, le);
        match Btf::parse(bad) {
            Err(BtfError::BadType { id: 6, offset, fault: TypeFault::UnknownKind(k) }) => {
                assert_eq!((offset, k), (at, kind))
            }
            other => panic!("kind {kind}: {other:?}"),
        }
    }
    let str_len = get_u32(&good, 20, le);
    let mut bad = good.clone();
    put_u32(&mut bad, at, str_len, le);
    assert!(matches!(
        Btf::parse(bad),
        Err(BtfError::BadType { id: 6, fault: TypeFault::BadNameOffset { field: "name", offset, end }, .. })
            if offset == str_len && end == str_len
    ));
    let outer = btf.find_by_name_kind("outer", Kind::Struct).unwrap();
    let oat = record_offset(&btf, outer);
    let mut bad = good.clone();
    put_u32(&mut bad, oat + 12 + 12, u32::MAX, le);
    match Btf::parse(bad) {
        Err(BtfError::BadType { id, offset, fault: TypeFault::BadNameOffset { field: "member name", .. } }) => {
            assert_eq!((id, offset), (outer, oat))
        }
        other => panic!("{other:?}"),
    }

    // A split in the other byte order than its base.
    let base = Arc::new(btf);
    let mut m = BtfBuilder::new_split(&base);
    m.set_endian(Endian::Big);
    m.add_ptr(1);
    assert!(matches!(Btf::parse_split(m.encode().unwrap(), base.clone()), Err(BtfError::EndiannessMismatch)));
    // A split's strings need not start with NUL (they continue the base's), and may be absent.
    let mut m = BtfBuilder::new_split(&base);
    m.add_typedef("x", 1);
    let split = Btf::parse_split(m.encode().unwrap(), base.clone()).unwrap();
    assert_eq!(split.own_strings(), b"x\0");
    let mut m = BtfBuilder::new_split(&base);
    m.add_ptr(1);
    assert!(Btf::parse_split(m.encode().unwrap(), base).unwrap().own_strings().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Reference cycles, built deliberately (the builder does not validate ids).

fn assert_too_deep<T: std::fmt::Debug>(what: &str, r: Result<T, BtfError>, limit: u32) {
    match r {
        Err(BtfError::TooDeep { limit: l, .. }) => assert_eq!(l, limit, "{what}"),
        other => panic!("{what}: expected TooDeep, got {other:?}"),
    }
}

#[test]
fn reference_cycles_end_in_too_deep() {
    with_watchdog("cycles", Duration::from_secs(10), Duration::from_secs(30), |_| {
        for endian in [Endian::Little, Endian::Big] {
            let mut b = BtfBuilder::new();
            b.set_endian(endian);
            let int = b.add_int("int", 4, IntEncoding::SIGNED);
            // typedef T -> T.
            let td = b.next_id();
            b.add_typedef("self_td", td);
            // const -> typedef -> const.
            let c = b.next_id();
            b.add_const(c + 1);
            b.add_typedef("loop_td", c);
            // volatile -> restrict -> type_tag -> volatile.
            let v = b.next_id();
            b.add_volatile(v + 1);
            b.add_restrict(v + 2);
            b.add_type_tag("t", v);
            // struct S { struct S s; }.
            let s = b.next_id();
            b.add_struct("S", 8, &[MemberSpec::new("i", int, 0), MemberSpec::new("s", s, 4)]);
            // struct A { typedef A_t -> A a; } through a typedef.
            let a = b.next_id();
            b.add_struct("A", 4, &[MemberSpec::new("a", a + 1, 0)]);
            b.add_typedef("A_t", a);
            // An array of itself, and of a typedef of itself.
            let arr = b.next_id();
            b.add_array(arr, int, 2);
            let arr2 = b.next_id();
            b.add_array(arr2 + 1, int, 2);
            b.add_typedef("arr_t", arr2);
            // A var of itself; a pointer to itself (fine: pointers do not nest sizes).
            let var = b.next_id();
            b.add_var("v", var, linkage::GLOBAL);
            let p = b.next_id();
            b.add_ptr(p);
            // An anonymous member of its own type: C lookup recurses into it.
            let anon = b.next_id();
            b.add_struct("anon_loop", 4, &[MemberSpec::new("x", int, 0), MemberSpec::new("", anon, 0)]);
            // A FUNC whose proto returns a pointer to the FUNC (kind confusion, not a cycle hazard).
            let f = b.next_id();
            b.add_func("f", f + 1, linkage::GLOBAL);
            b.add_func_proto(f, &[("self", f)]);
            let btf = Btf::parse(b.encode().unwrap()).expect("cycles are structurally valid");

            for id in [td, c, c + 1, v, v + 1, v + 2] {
                assert_too_deep(&format!("resolve({id})"), btf.resolve(id), MAX_RESOLVE_DEPTH);
                assert_too_deep(&format!("size_of({id})"), btf.size_of(id), MAX_RESOLVE_DEPTH);
                assert_too_deep(&format!("align_of({id})"), btf.align_of(id), MAX_RESOLVE_DEPTH);
                assert_too_deep(&format!("find_member({id})"), btf.find_member(id, "x"), MAX_RESOLVE_DEPTH);
            }
            assert_too_deep("skip_modifiers(volatile loop)", btf.skip_modifiers(v), MAX_RESOLVE_DEPTH);
            // A struct containing itself: its recorded size stands, its alignment recurses.
            assert_eq!(btf.resolve(s).unwrap(), s);
            assert_eq!(btf.size_of(s).unwrap(), 8);
            assert_too_deep("align_of(S)", btf.align_of(s), MAX_NESTING_DEPTH);
            assert_eq!(btf.find_member(s, "s").unwrap().unwrap().index, 1);
            assert_too_deep("align_of(A)", btf.align_of(a), MAX_NESTING_DEPTH);
            assert_too_deep("align_of(A_t)", btf.align_of(a + 1), MAX_NESTING_DEPTH);
            for id in [arr, arr2, arr2 + 1] {
                assert_eq!(btf.resolve(id).unwrap(), if id == arr2 + 1 { arr2 } else { id });
                assert_too_deep(&format!("size_of(array {id})"), btf.size_of(id), MAX_NESTING_DEPTH);
                assert_too_deep(&format!("align_of(array {id})"), btf.align_of(id), MAX_NESTING_DEPTH);
            }
            assert_too_deep("size_of(var)", btf.size_of(var), MAX_NESTING_DEPTH);
            assert_too_deep("align_of(var)", btf.align_of(var), MAX_NESTING_DEPTH);
            assert_eq!(btf.resolve(p).unwrap(), p);
            assert_eq!(btf.size_of(p).unwrap(), 8);
            assert_eq!(btf.align_of(p).unwrap(), 8);
            // The anonymous self-member: found when named directly, TooDeep when absent.
            assert_eq!(btf.find_member(anon, "x").unwrap().unwrap().index, 0);
            assert_too_deep("find_member(anon loop)", btf.find_member(anon, "missing"), MAX_NESTING_DEPTH);
            assert!(matches!(btf.size_of(f), Err(BtfError::WrongKind { .. })));
            exercise(&btf);

            // The same cycles in a split, pointing into each other and into the base.
            let base = Arc::new(btf);
            let mut m = BtfBuilder::new_split(&base);
            let first = m.next_id();
            m.add_typedef("split_loop", first + 1);
            m.add_const(first);
            m.add_struct("split_self", 4, &[MemberSpec::new("me", first + 2, 0), MemberSpec::new("base", s, 0)]);
            m.add_typedef("to_base_loop", td);
            let split = Btf::parse_split(m.encode().unwrap(), base).unwrap();
            assert_too_deep("split resolve", split.resolve(first), MAX_RESOLVE_DEPTH);
            assert_too_deep("split size_of", split.size_of(first + 1), MAX_RESOLVE_DEPTH);
            assert_too_deep("split align_of", split.align_of(first + 2), MAX_NESTING_DEPTH);
            assert_too_deep("split into base loop", split.resolve(first + 3), MAX_RESOLVE_DEPTH);
            exercise(&split);
        }
    });
}

// ---------------------------------------------------------------------------------------------
// The layout section.

#[test]
fn layout_section_describes_unknown_kinds() {
    for endian in [Endian::Little, Endian::Big] {
        let bytes = with_layout(endian).encode().unwrap();
        let btf = Btf::parse(bytes.clone()).expect("layout-described kinds parse");
        assert_eq!(btf.header().hdr_len, 32);
        let layout = btf.layout().expect("layout section");
        assert_eq!(layout.len(), 128);
        assert_eq!(layout.get(64).map(|l| (l.info_size, l.elem_size)), Some((3, 1)));
        let f = btf.find_by_name_kind("future", Kind::Unknown(25)).expect("an unknown kind is found by name");
        let ty = btf.type_by_id(f).unwrap();
        assert_eq!(ty.kind(), Kind::Unknown(25));
        assert_eq!((ty.vlen(), ty.size_or_type()), (2, 7));
        assert!(matches!(ty.details(), TypeDetails::Unknown { kind: 25, payload } if payload.len() == 20));
        let odd = btf.type_by_id(f + 1).unwrap();
        assert_eq!(odd.kind(), Kind::Unknown(64));
        assert_eq!(odd.record().len(), 12 + 3 + 3);
        let huge = btf.type_by_id(f + 2).unwrap();
        assert_eq!((huge.kind(), huge.vlen(), huge.record().len()), (Kind::Unknown(127), 0x00ff_ffff, 12));
        // Types after an odd-sized record (not 4-byte aligned) still read correctly.
        let td = btf.find_by_name_kind("future_t", Kind::Typedef).unwrap();
        assert_eq!(btf.resolve(td).unwrap(), f);
        assert!(matches!(btf.size_of(td), Err(BtfError::WrongKind { found: Some(Kind::Unknown(25)), .. })));
        let after = btf.find_by_name_kind("after_odd", Kind::Typedef).unwrap();
        assert_eq!(record_offset(&btf, after) % 4, 2);
        assert_eq!(btf.size_of(after).unwrap(), 4);
        // Round trip through the builder, byte for byte.
        assert_eq!(BtfBuilder::from_btf(&btf).encode().unwrap(), bytes);
        exercise(&btf);

        // The same blob without its layout: the unknown kinds cannot be skipped.
        let mut b = with_layout(endian);
        b.set_layout(None);
        match Btf::parse(b.encode().unwrap()) {
            Err(BtfError::BadType { id, fault: TypeFault::UnknownKind(25), .. }) => assert_eq!(id, f),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn layout_contradicting_a_known_kind_is_rejected() {
    for kind in Kind::ALL {
        for (byte, value) in [(0usize, 9u8), (1, 5)] {
            let mut layout = layout_with(&[(25, 4, 8)]);
            let i = kind.raw() as usize * 4 + byte;
            if layout[i] == value {
                continue;
            }
            layout[i] = value;
            let mut b = rich(Endian::Little);
            b.set_layout(Some(layout));
            match Btf::parse(b.encode().unwrap()) {
                Err(BtfError::BadLayout { reason }) => assert!(reason.contains(&kind.to_string()), "{reason}"),
                other => panic!("{kind} byte {byte}: {other:?}"),
            }
        }
    }
    // A layout covering only the first kinds is fine; one whose length is not whole entries is not.
    let mut b = rich(Endian::Little);
    b.set_layout(Some(layout_with(&[])[..4 * 5].to_vec()));
    exercise(&Btf::parse(b.encode().unwrap()).expect("a short layout section"));
    let mut b = rich(Endian::Little);
    b.set_layout(Some(layout_with(&[])[..4 * 5 + 2].to_vec()));
    assert!(matches!(Btf::parse(b.encode().unwrap()), Err(BtfError::BadLayout { .. })));
    // hdr_len 32 with an empty layout section: a plain BTF.
    let mut b = rich(Endian::Little);
    b.set_layout(Some(Vec::new()));
    let btf = Btf::parse(b.encode().unwrap()).unwrap();
    assert_eq!((btf.header().hdr_len, btf.layout().is_none()), (32, true));
    exercise(&btf);
}

// ---------------------------------------------------------------------------------------------
// Known bugs (fail until the library is fixed; see the report in each test).

/// A diamond of structs: `S_k { S_{k-1} a; S_{k-1} b; }`, `depth` levels, all members aligned.
/// Valid, acyclic and tiny (~30 bytes per level), yet `align_of` visits `2^depth` members.
fn diamond(depth: u32, anonymous: bool) -> (Btf, u32) {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, IntEncoding::SIGNED);
    let mut prev = b.add_struct("leaf", 4, &[MemberSpec::new("x", int, 0)]);
    for i in 0..depth {
        let (n1, n2) = if anonymous { (String::new(), String::new()) } else { (format!("a{i}"), format!("b{i}")) };
        prev = b.add_struct("", 4, &[MemberSpec::new(&n1, prev, 0), MemberSpec::new(&n2, prev, 0)]);
    }
    (Btf::parse(b.encode().unwrap()).unwrap(), prev)
}

/// Regression (fixed): `align_of` recomputes shared member types, so a 60-level diamond (1.8 KiB of BTF)
/// takes 2^60 steps: a hang on hostile input. Fix in `resolve.rs` `align_of_at`: memoize per
/// type id within one call (or count total work against a budget).
#[test]
fn bug_align_of_is_exponential_on_shared_member_types() {
    with_watchdog("align_of diamond", Duration::from_secs(5), Duration::from_secs(5), |p| {
        let (btf, top) = diamond(60, false);
        p.start("align_of(diamond 60)", btf.raw_bytes());
        assert_eq!(btf.align_of(top).unwrap(), 4);
    });
}

/// Regression (fixed): `find_member` searches shared anonymous members again and again, 2^depth times for a
/// missing name. Fix in `resolve.rs` `find_member_at`: remember which anonymous types were
/// already searched without a match (a small set per call) and skip them.
#[test]
fn bug_find_member_is_exponential_on_shared_anonymous_members() {
    with_watchdog("find_member diamond", Duration::from_secs(5), Duration::from_secs(5), |p| {
        let (btf, top) = diamond(60, true);
        p.start("find_member(diamond 60)", btf.raw_bytes());
        assert!(btf.find_member(top, "missing").unwrap().is_none());
    });
}

/// Regression (fixed): the sortedness check of a split forgets the previous name when it comes from the
/// base's strings (`names.rs` `sorted_range` sets `prev = b"\0"`), so a split whose types are
/// NOT sorted is taken as sorted and binary-searched: lookups miss types that exist. Module
/// BTF routinely names its types with vmlinux strings. Fix: `prev = name;` (a slice end
/// counts as NUL in `cstr_le`).
#[test]
fn bug_split_sorted_check_forgets_names_from_base_strings() {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, IntEncoding::SIGNED);
    b.add_struct("s", 4, &[MemberSpec::new("zzz", int, 0)]);
    let base = Arc::new(Btf::parse(b.encode().unwrap()).unwrap());
    let zzz = base_string_offset(&base, "zzz");
    let mut m = BtfBuilder::new_split(&base);
    let named_in_base = m.add_type(TypeRecord {
        name_off: zzz,
        kind_flag: false,
        data: RecordData::Struct { size: 0, members: vec![] },
    });
    m.add_struct("aaa", 0, &[]);
    let split = Btf::parse_split(m.encode().unwrap(), base).unwrap();
    assert!(!split.is_sorted_by_name(), "[zzz, aaa] is not sorted");
    assert_eq!(split.find_by_name_kind("zzz", Kind::Struct), Some(named_in_base));
}

/// Regression (fixed): kind slot 0 of the per-kind name index serves both `Kind::Unknown(0)` and every kind
/// past ENUM64, but is built with the filter of whichever is asked first: after a lookup with
/// `Kind::Unknown(0)`, lookups of real unknown kinds find nothing. Fix in `names.rs`
/// `hash_index`: `Some(k) if (1..=19).contains(&k) => raw == k, Some(_) => raw > 19` (and the
/// same range for the slot choice).
#[test]
fn bug_unknown_kind_zero_lookup_poisons_the_index() {
    let mut b = BtfBuilder::new();
    b.set_layout(Some(layout_with(&[(25, 0, 0)])));
    b.add_int("zz", 4, IntEncoding::NONE); // unsorted: the hashed index is used
    let n = b.add_string("future");
    let id = b.add_type(unknown_record(n, 25, 0, 0, 0));
    let btf = Btf::parse(b.encode().unwrap()).unwrap();
    assert_eq!(btf.find_by_name_kind("future", Kind::Unknown(0)), None);
    assert_eq!(btf.find_by_name_kind("future", Kind::Unknown(25)), Some(id));
}

/// Bug (error variant): `find_member` on a type that resolves to void reports
/// `IdOutOfRange { id: 0 }` where `size_of`/`align_of` report `WrongKind { found: None }`.
/// Fix in `resolve.rs` `find_member_at`: after `resolve`, return `WrongKind { id, found: None,
/// expected: "STRUCT or UNION" }` when the id is 0.
#[test]
fn bug_find_member_on_void_is_id_out_of_range() {
    let mut b = BtfBuilder::new();
    let td = b.add_typedef("void_t", 0);
    let btf = Btf::parse(b.encode().unwrap()).unwrap();
    assert!(matches!(btf.find_member(td, "x"), Err(BtfError::WrongKind { found: None, .. })));
}

/// A 28-byte header: bytes 24..28 are past every field a 24-byte header has and are not the
/// layout fields (which need 32), so they must be zero.
#[test]
fn header_extension_bytes_must_be_zero() {
    let mut b = BtfBuilder::new();
    b.set_endian(Endian::Little);
    b.add_int("int", 4, IntEncoding::SIGNED);
    let plain = b.encode().unwrap();
    let mut blob = plain[..24].to_vec();
    blob[4..8].copy_from_slice(&28u32.to_le_bytes());
    blob.extend_from_slice(&[0, 0, 0, 0]);
    blob.extend_from_slice(&plain[24..]);
    assert!(Btf::parse(blob.clone()).is_ok(), "zero extension bytes are fine");
    blob[25] = 1;
    assert!(matches!(
        Btf::parse(blob),
        Err(BtfError::BadHeader { reason: HeaderFault::UnknownNonZero { offset: 25 } })
    ));
}
