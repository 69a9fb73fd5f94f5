//! Malformed input: tens of thousands of mutated blobs must each give a typed error or a valid
//! parse on which every query terminates without panicking. A watchdog fails the test on a hang.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bpfkit_btf::{
    Btf, BtfBuilder, BtfError, Endian, HeaderFault, IntEncoding, Kind, MemberSpec, TypeDetails, TypeFault, VarSecinfo,
    linkage,
};

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn seed(endian: Endian) -> BtfBuilder {
    let mut b = BtfBuilder::new();
    b.set_endian(endian);
    let int = b.add_int("int", 4, IntEncoding::SIGNED);
    let ptr = b.add_ptr(int);
    let arr = b.add_array(int, int, 3);
    let inner = b.add_union("", 8, &[MemberSpec::new("a", int, 0), MemberSpec::new("p", ptr, 0)]);
    let s = b.add_struct(
        "s",
        32,
        &[MemberSpec::bitfield("bf", int, 0, 3), MemberSpec::new("", inner, 8), MemberSpec::new("arr", arr, 16)],
    );
    b.add_enum("e", 4, true, &[("A", -2), ("B", 5)]);
    b.add_enum64("e64", 8, false, &[("C", 1 << 40)]);
    b.add_fwd("f", false);
    let td = b.add_typedef("s_t", s);
    let c = b.add_const(td);
    let v = b.add_volatile(c);
    b.add_restrict(ptr);
    let proto = b.add_func_proto(int, &[("x", v), ("", 0)]);
    let func = b.add_func("fn", proto, linkage::GLOBAL);
    let var = b.add_var("g", int, linkage::GLOBAL);
    b.add_datasec(".data", 4, &[VarSecinfo { ty: var, offset: 0, size: 4 }]);
    b.add_float("double", 8);
    b.add_decl_tag("t", func, 0);
    b.add_type_tag("rcu", ptr);
    b
}

/// Runs every query on every type; returns how many things were looked at.
fn exercise(btf: &Btf) -> usize {
    let mut seen = 0;
    for id in 0..btf.type_count() + 3 {
        let Ok(ty) = btf.type_by_id(id) else { continue };
        seen += 1;
        let _ = (ty.name(), ty.kind(), ty.size(), ty.ref_type(), btf.kind_of(id));
        let _ = (btf.resolve(id), btf.skip_modifiers(id), btf.size_of(id), btf.align_of(id));
        match ty.details() {
            TypeDetails::Struct(ms) | TypeDetails::Union(ms) => {
                for m in ms {
                    let _ = (m.bit_offset(), m.bitfield_size());
                    if let Ok(name) = btf.str_at(m.name_off) {
                        let _ = btf.find_member(id, name);
                    }
                    seen += 1;
                }
            }
            TypeDetails::Enum(es) => seen += es.inspect(|e| _ = e.value()).count(),
            TypeDetails::Enum64(es) => seen += es.inspect(|e| _ = e.value()).count(),
            TypeDetails::FuncProto { params, .. } => seen += params.count(),
            TypeDetails::Datasec(vs) => seen += vs.count(),
            _ => {}
        }
        if let Ok(name) = ty.name() {
            let _ = btf.find_all_by_name(name);
            let _ = btf.find_by_name_kind(name, ty.kind());
        }
    }
    let _ = btf.is_sorted_by_name();
    // Re-encoding a valid parse must parse again to the same records.
    let bytes = BtfBuilder::from_btf(btf).encode().expect("encode a valid parse");
    let again = match btf.base() {
        Some(base) => Btf::parse_split(bytes, base.clone()),
        None => Btf::parse(bytes),
    }
    .expect("a re-encoded valid parse parses");
    assert_eq!(again.own_type_count(), btf.own_type_count());
    seen
}

fn put_u32(blob: &mut [u8], off: usize, v: u32, endian: Endian) {
    if let Some(slot) = blob.get_mut(off..off + 4) {
        slot.copy_from_slice(&match endian {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        });
    }
}

const EXTREMES: [u32; 10] = [0, 1, 2, 3, 0xff, 0xffff, 0x00ff_ffff, 0x7fff_ffff, 0xffff_fffe, 0xffff_ffff];

/// One mutation of a valid blob.
fn mutate(rng: &mut Rng, good: &[u8], endian: Endian) -> Vec<u8> {
    let mut blob = good.to_vec();
    let type_len = [good[12], good[13], good[14], good[15]];
    let types_end = 24
        + match endian {
            Endian::Little => u32::from_le_bytes(type_len),
            Endian::Big => u32::from_be_bytes(type_len),
        } as usize;
    match rng.below(7) {
        // Truncate anywhere.
        0 => blob.truncate(rng.below(good.len())),
        // Flip random bytes.
        1 => {
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(blob.len());
                blob[i] ^= 1 << rng.below(8);
            }
        }
        // Extreme header field.
        2 => {
            let field = 4 + 4 * rng.below(5);
            let v = match rng.below(3) {
                0 => EXTREMES[rng.below(EXTREMES.len())],
                1 => (good.len() as u32).wrapping_add(rng.below(5) as u32).wrapping_sub(2),
                _ => rng.next() as u32,
            };
            put_u32(&mut blob, field, v, endian);
        }
        // Extreme u32 anywhere in the type section (name offsets, infos, type ids, vlens).
        3 => {
            let off = 24 + 4 * rng.below((types_end - 24) / 4);
            put_u32(&mut blob, off, EXTREMES[rng.below(EXTREMES.len())], endian);
        }
        // Rewrite an info word: kind 0, unknown kinds, huge vlen, kind flag.
        4 => {
            let off = 24 + 4 * rng.below((types_end - 24) / 4);
            let kind = [0u32, 20, 31, 127, rng.below(20) as u32][rng.below(5)];
            let vlen = [0u32, 1, 0xffff, 0x00ff_ffff, rng.below(8) as u32][rng.below(5)];
            put_u32(&mut blob, off, kind << 24 | vlen | (rng.below(2) as u32) << 31, endian);
        }
        // Type reference to a random small id (self references, cycles, forward refs).
        5 => {
            let off = 24 + 4 * rng.below((types_end - 24) / 4);
            put_u32(&mut blob, off, rng.below(24) as u32, endian);
        }
        // Drop the string section's final NUL or the base's leading NUL.
        _ => {
            let last = blob.len() - 1;
            if rng.below(2) == 0 {
                blob[last] = b'x';
            } else {
                blob[types_end] = b'x';
            }
        }
    }
    blob
}

fn with_watchdog(name: &str, limit: Duration, f: impl FnOnce() + Send + 'static) {
    let handle = std::thread::spawn(f);
    let start = Instant::now();
    while !handle.is_finished() {
        assert!(start.elapsed() < limit, "{name}: no result after {limit:?}: a hang");
        std::thread::sleep(Duration::from_millis(20));
    }
    if let Err(panic) = handle.join() {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn mutated_base_blobs_never_panic_or_hang() {
    with_watchdog("base mutations", Duration::from_secs(60), || {
        let mut rng = Rng(0x5eed_0001);
        let (mut ok, mut errors, mut seen) = (0, 0, 0);
        for endian in [Endian::Little, Endian::Big] {
            let good = seed(endian).encode().expect("encode seed");
            seen += exercise(&Btf::parse(good.clone()).expect("seed parses"));
            for _ in 0..12_000 {
                match Btf::parse(mutate(&mut rng, &good, endian)) {
                    Ok(btf) => {
                        ok += 1;
                        seen += exercise(&btf);
                    }
                    Err(e) => {
                        errors += 1;
                        assert!(!e.to_string().is_empty());
                    }
                }
            }
        }
        println!("24000 mutated base blobs: {ok} parsed (queries touched {seen} items), {errors} typed errors");
        assert!(ok > 1000 && errors > 1000, "mutations should yield both outcomes: {ok} ok, {errors} errors");
    });
}

#[test]
fn mutated_split_blobs_never_panic_or_hang() {
    with_watchdog("split mutations", Duration::from_secs(60), || {
        let base = Arc::new(Btf::parse(seed(Endian::Little).encode().expect("encode")).expect("base"));
        let mut m = BtfBuilder::new_split(&base);
        let s = m.add_struct("m", 8, &[MemberSpec::new("x", 1, 0), MemberSpec::new("y", 2, 32)]);
        m.add_typedef("m_t", s);
        m.add_ptr(s);
        let good = m.encode().expect("encode split");
        let mut rng = Rng(0x5eed_0002);
        let (mut ok, mut errors) = (0, 0);
        for _ in 0..8_000 {
            match Btf::parse_split(mutate(&mut rng, &good, Endian::Little), base.clone()) {
                Ok(btf) => {
                    ok += 1;
                    exercise(&btf);
                }
                Err(_) => errors += 1,
            }
        }
        println!("8000 mutated split blobs: {ok} parsed, {errors} typed errors");
        assert!(ok > 100 && errors > 100);
    });
}

#[test]
fn precise_errors_for_targeted_damage() {
    let good = seed(Endian::Little).encode().unwrap();
    let le = |b: &[u8], off: usize| u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]]);

    let mut bad = good.clone();
    bad[0] = 0x12;
    assert!(matches!(Btf::parse(bad), Err(BtfError::BadMagic { found: [0x12, 0xeb] })));
    assert!(matches!(Btf::parse(good[..10].to_vec()), Err(BtfError::TooShort { len: 10, need: 24 })));

    // Type 2 is the PTR at byte 24 + 16 (INT: 12 + 4); point it past the last type.
    let ptr_at = 24 + 16;
    assert_eq!(le(&good, ptr_at + 4) >> 24, 2, "seed layout: type 2 is a PTR");
    let mut bad = good.clone();
    put_u32(&mut bad, ptr_at + 8, 500, Endian::Little);
    match Btf::parse(bad) {
        Err(BtfError::BadType { id: 2, offset, fault: TypeFault::BadTypeRef { field: "type", target: 500, .. } }) => {
            assert_eq!(offset, ptr_at)
        }
        other => panic!("{other:?}"),
    }
    // The first id past the last type is out of range; the last type itself is fine.
    let end = Btf::parse(good.clone()).unwrap().type_count();
    let mut bad = good.clone();
    put_u32(&mut bad, ptr_at + 8, end, Endian::Little);
    assert!(matches!(
        Btf::parse(bad),
        Err(BtfError::BadType { id: 2, fault: TypeFault::BadTypeRef { target, .. }, .. }) if target == end
    ));
    let mut ok = good.clone();
    put_u32(&mut ok, ptr_at + 8, end - 1, Endian::Little);
    assert!(Btf::parse(ok).is_ok());
    // A name offset past the strings.
    let mut bad = good.clone();
    put_u32(&mut bad, ptr_at, 0x00ff_0000, Endian::Little);
    assert!(matches!(
        Btf::parse(bad),
        Err(BtfError::BadType {
            id: 2,
            fault: TypeFault::BadNameOffset { field: "name", offset: 0x00ff_0000, .. },
            ..
        })
    ));
    // The first offset past the strings is out of range too (off-by-one guard).
    let str_len = le(&good, 20);
    let mut bad = good.clone();
    put_u32(&mut bad, ptr_at, str_len, Endian::Little);
    assert!(matches!(
        Btf::parse(bad),
        Err(BtfError::BadType { id: 2, fault: TypeFault::BadNameOffset { offset, .. }, .. }) if offset == str_len
    ));
    let mut ok = good.clone();
    put_u32(&mut ok, ptr_at, str_len - 1, Endian::Little);
    assert!(Btf::parse(ok).is_ok(), "the last string byte (its NUL: an empty name) is a valid offset");
    // A vlen that runs past the type section.
    let mut bad = good.clone();
    put_u32(&mut bad, ptr_at + 4, (4 << 24) | 0xffff, Endian::Little);
    assert!(matches!(
        Btf::parse(bad),
        Err(BtfError::BadType { id: 2, fault: TypeFault::Truncated { .. }, offset }) if offset == ptr_at
    ));
    // Kind 0 and an unknown kind without a layout section.
    let mut bad = good.clone();
    put_u32(&mut bad, ptr_at + 4, 0, Endian::Little);
    assert!(matches!(Btf::parse(bad), Err(BtfError::BadType { id: 2, fault: TypeFault::KindZero, .. })));
    let mut bad = good.clone();
    put_u32(&mut bad, ptr_at + 4, 42 << 24, Endian::Little);
    assert!(matches!(Btf::parse(bad), Err(BtfError::BadType { id: 2, fault: TypeFault::UnknownKind(42), .. })));
    // Header: sections out of bounds, unaligned, overlapping; strings without NULs.
    let mut bad = good.clone();
    put_u32(&mut bad, 20, 0xffff_ffff, Endian::Little);
    assert!(matches!(Btf::parse(bad), Err(BtfError::SectionOutOfBounds { section: "string", .. })));
    let mut bad = good.clone();
    put_u32(&mut bad, 8, 2, Endian::Little);
    assert!(matches!(Btf::parse(bad), Err(BtfError::BadHeader { reason: HeaderFault::TypesUnaligned(2) })));
    let mut bad = good.clone();
    put_u32(&mut bad, 16, 8, Endian::Little);
    assert!(matches!(Btf::parse(bad), Err(BtfError::SectionsOverlap { .. })));
    let mut bad = good.clone();
    *bad.last_mut().unwrap() = b'x';
    assert!(matches!(Btf::parse(bad), Err(BtfError::BadStrings { .. })));
}

#[test]
fn layout_section_describes_unknown_kinds() {
    // Kind 25 (unknown to this crate) with 4 bytes of info and 8 bytes per element.
    let mut b = seed(Endian::Little);
    let known: Vec<u8> = std::iter::once([0u8; 4])
        .chain(Kind::ALL.iter().map(|k| [k.info_size() as u8, k.elem_size() as u8, 0, 0]))
        .chain((20..25).map(|_| [0u8; 4]))
        .chain(std::iter::once([4, 8, 0, 0]))
        .flatten()
        .collect();
    b.set_layout(Some(known.clone()));
    let name = b.add_string("future");
    let id = b.add_type(bpfkit_btf::TypeRecord {
        name_off: name,
        kind_flag: false,
        data: bpfkit_btf::RecordData::Unknown { kind: 25, vlen: 2, word3: 7, payload: vec![0xab; 4 + 16] },
    });
    let after = b.add_typedef("after", 1);
    let bytes = b.encode().unwrap();
    let btf = Btf::parse(bytes.clone()).expect("layout-described kind parses");
    assert_eq!(btf.header().hdr_len, 32);
    let ty = btf.type_by_id(id).unwrap();
    assert_eq!(ty.kind(), Kind::Unknown(25));
    assert!(matches!(ty.details(), TypeDetails::Unknown { kind: 25, payload } if payload.len() == 20));
    assert_eq!(btf.find_by_name_kind("after", Kind::Typedef), Some(after));
    assert_eq!(BtfBuilder::from_btf(&btf).encode().unwrap(), bytes);
    exercise(&btf);

    // A layout that contradicts a known kind is rejected.
    let mut wrong = known;
    wrong[4 * 4] = 9; // STRUCT info size
    let mut b = seed(Endian::Little);
    b.set_layout(Some(wrong));
    assert!(matches!(Btf::parse(b.encode().unwrap()), Err(BtfError::BadLayout { .. })));
}
