//! The validation pass: one walk over the type section that proves every record is complete,
//! every name offset and every referenced type id resolves, and records where each type starts.
//!
//! After this pass, typed views can read records without further checks. The walk is the
//! hot path of every parse (vmlinux: 130k records, 800k members and parameters), so it only
//! folds the largest name offset and the largest referenced id it sees, specialised per byte
//! order; forward references are legal, so ids can only be judged once the type count is known.
//! When a bound is exceeded, a second, slower walk finds the exact record and field to report.

use crate::endian::Endian;
use crate::error::{BtfError, Result, TypeFault};
use crate::kind::{Info, Kind, TYPE_HEADER_SIZE};
use crate::layout::Layout;

/// Where a record's bytes are, what it is, and its size: the outcome of reading one header.
pub(crate) struct RecordShape {
    pub kind: Kind,
    pub info: Info,
    pub len: usize,
}

/// Computes the length of the record starting at `pos`, checking only that it fits.
#[inline(always)]
pub(crate) fn record_shape(
    types: &[u8],
    pos: usize,
    endian: Endian,
    layout: Option<&Layout<'_>>,
) -> std::result::Result<RecordShape, TypeFault> {
    let available = types.len() - pos;
    if available < TYPE_HEADER_SIZE {
        return Err(TypeFault::Truncated { need: TYPE_HEADER_SIZE, available });
    }
    let info = Info::decode(endian.read_u32(types, pos + 4));
    let kind = Kind::from_raw(info.kind).ok_or(TypeFault::KindZero)?;
    let (info_size, elem_size) = match kind {
        Kind::Unknown(raw) => match layout.and_then(|l| l.get(raw)) {
            Some(entry) => (entry.info_size as u64, entry.elem_size as u64),
            None => return Err(TypeFault::UnknownKind(raw)),
        },
        known => (known.info_size() as u64, known.elem_size() as u64),
    };
    let need = TYPE_HEADER_SIZE as u64 + info_size + elem_size * info.vlen as u64;
    if need > available as u64 {
        return Err(TypeFault::Truncated { need: need.min(usize::MAX as u64) as usize, available });
    }
    Ok(RecordShape { kind, info, len: need as usize })
}

/// Inputs of the validation pass.
pub(crate) struct Walk<'a> {
    /// The type section.
    pub types: &'a [u8],
    /// Offset of the type section within the blob (for error positions).
    pub types_at: usize,
    pub endian: Endian,
    /// Id of the first type in this section (1 for a base, the base's type count for a split).
    pub first_id: u32,
    /// One past the largest valid string offset (bases included).
    pub strings_end: u32,
    pub layout: Option<Layout<'a>>,
}

struct WorstRef {
    target: u32,
    id: u32,
    offset: usize,
    field: &'static str,
}

impl Walk<'_> {
    /// Validates every record and returns the start offset and raw kind of each own type.
    pub(crate) fn run(&self) -> Result<(Vec<u32>, Vec<u8>)> {
        let fast = match self.endian {
            Endian::Little => self.fast::<Le>(),
            Endian::Big => self.fast::<Be>(),
        };
        match fast {
            Some((offsets, kinds, max_name, max_ref))
                if max_name < self.strings_end as u64 && max_ref < self.first_id as u64 + offsets.len() as u64 =>
            {
                Ok((offsets, kinds))
            }
            // Something is out of bounds: find exactly what and where.
            _ => match self.locate_fault() {
                Err(e) => Err(e),
                Ok(_) => Err(BtfError::BadType {
                    id: 0,
                    offset: self.types_at,
                    fault: TypeFault::Invalid("validation passes disagree (bug in bpfkit-btf)"),
                }),
            },
        }
    }

    /// The hot walk: record boundaries, kinds, and the largest name offset and type id used.
    /// `None` when a record is malformed (the slow walk then says how).
    #[inline(never)]
    fn fast<B: ByteOrder>(&self) -> Option<(Vec<u32>, Vec<u8>, u64, u64)> {
        let types = self.types;
        // Every record takes at least a header: enough room for any input, and pages that are
        // never written are never faulted in (the allocation is zeroed memory from the OS).
        let room = types.len() / TYPE_HEADER_SIZE;
        let mut offsets = vec![0u32; room];
        let mut kinds = vec![0u8; room];
        let mut count = 0usize;
        let (mut max_name, mut max_ref) = (0u32, 0u32);
        let mut pos = 0usize;
        while pos < types.len() {
            let head = types.get(pos..pos + TYPE_HEADER_SIZE)?;
            let name_off = B::u32(head, 0);
            let info = Info::decode(B::u32(head, 4));
            let word3 = B::u32(head, 8);
            let (info_size, elem_size) = if (1..KNOWN_KINDS).contains(&info.kind) {
                // Shifts of a constant instead of a table load: this sits on the walk's
                // critical path (the next record's position depends on it).
                let shift = 2 * info.kind as u32;
                ((((INFO_WORDS >> shift) & 3) * 4) as usize, (((ELEM_WORDS >> shift) & 3) * 4) as usize)
            } else if info.kind == 0 {
                return None;
            } else {
                let entry = self.layout.as_ref()?.get(info.kind)?;
                (entry.info_size as usize, entry.elem_size as usize)
            };
            let vlen = info.vlen as usize;
            let len = TYPE_HEADER_SIZE + info_size + elem_size * vlen;
            let rec = types.get(pos..pos.checked_add(len)?)?;
            max_name = max_name.max(name_off);
            // Which words hold names and type ids, as masks from per-kind bit sets rather than
            // a branch per kind (kinds arrive in no predictable order).
            let k = info.kind as u32;
            let bit = |set: u32| 0u32.wrapping_sub((set >> (k & 31)) & (k < 32) as u32);
            max_ref = max_ref.max(word3 & bit(REF_IN_HEADER));
            if info.kind == 3 {
                max_ref = max_ref.max(B::u32(rec, 12)).max(B::u32(rec, 16));
            }
            if elem_size != 0 {
                let (name0, ref0, ref1) = (bit(NAME_FIRST), bit(REF_FIRST), bit(REF_SECOND));
                let mut at = TYPE_HEADER_SIZE + info_size;
                for _ in 0..vlen {
                    let (w0, w1) = (B::u32(rec, at), B::u32(rec, at + 4));
                    max_name = max_name.max(w0 & name0);
                    max_ref = max_ref.max(w0 & ref0).max(w1 & ref1);
                    at += elem_size;
                }
            }
            *offsets.get_mut(count)? = pos as u32;
            *kinds.get_mut(count)? = info.kind;
            count += 1;
            pos += len;
        }
        offsets.truncate(count);
        offsets.shrink_to_fit();
        kinds.truncate(count);
        kinds.shrink_to_fit();
        Some((offsets, kinds, max_name as u64, max_ref as u64))
    }

    /// The slow walk: the first malformed record, or the first out-of-range name offset, or the
    /// record holding the largest out-of-range type id.
    fn locate_fault(&self) -> Result<Vec<u32>> {
        let types = self.types;
        let e = self.endian;
        // An upper bound from the input itself: no allocation beyond what the bytes justify.
        let mut offsets: Vec<u32> = Vec::with_capacity(types.len() / 24);
        let mut worst = WorstRef { target: 0, id: 0, offset: 0, field: "" };
        let mut pos = 0usize;
        while pos < types.len() {
            let id = match self.first_id.checked_add(offsets.len() as u32) {
                Some(id) => id,
                None => {
                    return Err(self.fault(u32::MAX, pos, TypeFault::Invalid("type id space (u32) exhausted")));
                }
            };
            let shape =
                record_shape(types, pos, e, self.layout.as_ref()).map_err(|fault| self.fault(id, pos, fault))?;
            let rec = &types[pos..pos + shape.len];
            let name = |field: &'static str, off: u32| {
                if off >= self.strings_end {
                    Err(self.fault(id, pos, TypeFault::BadNameOffset { field, offset: off, end: self.strings_end }))
                } else {
                    Ok(())
                }
            };
            let mut refer = |field: &'static str, target: u32| {
                if target > worst.target {
                    worst = WorstRef { target, id, offset: pos, field };
                }
            };
            name("name", e.read_u32(rec, 0))?;
            let word3 = e.read_u32(rec, 8);
            let kind = shape.kind;
            if kind.has_type_ref() {
                refer("type", word3);
            }
            let vlen = shape.info.vlen as usize;
            let elems = &rec[TYPE_HEADER_SIZE + kind.info_size()..];
            match kind {
                Kind::Array => {
                    refer("array element type", e.read_u32(rec, 12));
                    refer("array index type", e.read_u32(rec, 16));
                }
                Kind::Struct | Kind::Union => {
                    for i in 0..vlen {
                        name("member name", e.read_u32(elems, i * 12))?;
                        refer("member type", e.read_u32(elems, i * 12 + 4));
                    }
                }
                Kind::Enum => {
                    for i in 0..vlen {
                        name("enumerator name", e.read_u32(elems, i * 8))?;
                    }
                }
                Kind::Enum64 => {
                    for i in 0..vlen {
                        name("enumerator name", e.read_u32(elems, i * 12))?;
                    }
                }
                Kind::FuncProto => {
                    for i in 0..vlen {
                        name("parameter name", e.read_u32(elems, i * 8))?;
                        refer("parameter type", e.read_u32(elems, i * 8 + 4));
                    }
                }
                Kind::Datasec => {
                    for i in 0..vlen {
                        refer("section variable", e.read_u32(elems, i * 12));
                    }
                }
                _ => {}
            }
            offsets.push(pos as u32);
            pos += shape.len;
        }
        let end = self.first_id as u64 + offsets.len() as u64;
        if worst.target as u64 >= end {
            let fault = TypeFault::BadTypeRef { field: worst.field, target: worst.target, end: end as u32 };
            return Err(self.fault(worst.id, worst.offset, fault));
        }
        Ok(offsets)
    }

    fn fault(&self, id: u32, pos: usize, fault: TypeFault) -> BtfError {
        BtfError::BadType { id, offset: self.types_at + pos, fault }
    }
}

/// Kinds whose third header word is a type id: PTR, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC,
/// FUNC_PROTO (return type), VAR, DECL_TAG, TYPE_TAG.
const REF_IN_HEADER: u32 = kinds(&[2, 8, 9, 10, 11, 12, 13, 14, 17, 18]);
/// Kinds whose elements start with a name: STRUCT, UNION, ENUM, FUNC_PROTO, ENUM64.
const NAME_FIRST: u32 = kinds(&[4, 5, 6, 13, 19]);
/// Kinds whose elements start with a type id: DATASEC.
const REF_FIRST: u32 = kinds(&[15]);
/// Kinds whose elements have a type id second: STRUCT, UNION, FUNC_PROTO.
const REF_SECOND: u32 = kinds(&[4, 5, 13]);

const fn kinds(list: &[u32]) -> u32 {
    let mut set = 0;
    let mut i = 0;
    while i < list.len() {
        set |= 1 << list[i];
        i += 1;
    }
    set
}

/// One past the largest kind this crate knows.
const KNOWN_KINDS: u8 = Kind::ALL.len() as u8 + 1;

/// Info size in 4-byte words, two bits per raw kind (kind `k` at bits `2k..2k+2`).
const INFO_WORDS: u64 = pack_words(true);
/// Element size in 4-byte words, two bits per raw kind.
const ELEM_WORDS: u64 = pack_words(false);

const fn pack_words(info: bool) -> u64 {
    let mut packed = 0u64;
    let mut i = 0;
    while i < Kind::ALL.len() {
        let k = Kind::ALL[i];
        let bytes = if info { k.info_size() } else { k.elem_size() };
        assert!(bytes % 4 == 0 && bytes / 4 < 4);
        packed |= ((bytes / 4) as u64) << (2 * (i + 1));
        i += 1;
    }
    packed
}

/// Byte-order-specialised reads for the hot walk (a plain load on the native order).
trait ByteOrder {
    fn u32(bytes: &[u8], off: usize) -> u32;
}

struct Le;
struct Be;

impl ByteOrder for Le {
    #[inline(always)]
    fn u32(b: &[u8], off: usize) -> u32 {
        match b.get(off..off + 4) {
            Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]),
            _ => 0,
        }
    }
}

impl ByteOrder for Be {
    #[inline(always)]
    fn u32(b: &[u8], off: usize) -> u32 {
        match b.get(off..off + 4) {
            Some(&[a, b, c, d]) => u32::from_be_bytes([a, b, c, d]),
            _ => 0,
        }
    }
}
