//! The validation pass: one walk over the type section that proves every record is complete,
//! every name offset and every referenced type id resolves, and records where each type starts.
//!
//! After this pass, typed views can read records without further checks. Forward references are
//! legal in BTF, so referenced ids are checked against the final type count at the end of the
//! walk; the error then names the record holding the largest offending reference.

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
    /// Validates every record and returns the start offset of each within the type section.
    pub(crate) fn run(&self) -> Result<Vec<u32>> {
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
        offsets.shrink_to_fit();
        Ok(offsets)
    }

    fn fault(&self, id: u32, pos: usize, fault: TypeFault) -> BtfError {
        BtfError::BadType { id, offset: self.types_at + pos, fault }
    }
}
