//! The validation pass: one walk over the type section that proves every record is complete,
//! every name offset and every referenced type id resolves, and records where each type starts.
//!
//! After this pass, typed views can read records without further checks. The walk is the
//! hot path of every parse (vmlinux: 125k records, 170k members, parameters and enumerators),
//! so it is specialised per byte order and avoids branches that depend on the data: kinds arrive
//! in no predictable order, and a mispredicted branch costs as much as dozens of instructions.
//! Record boundaries are found one after another (the next record's position depends on this
//! one's header); what follows the headers is checked per batch of records, grouped by kind and
//! element count so that each group runs fixed steps. Name offsets are folded into one bit that
//! says whether any is out of range; type ids into their maximum (forward references are legal,
//! so ids can only be judged once the type count is known). While it can, the walk also proves
//! that the names are in sorted order, so that sorted BTF needs no separate order check.
//! When something is malformed or out of range, a second, slower walk finds the exact record and
//! field to report.

use std::cell::Cell;

use crate::bytes::prefetch;
use crate::endian::Endian;
use crate::error::{BtfError, Result, TypeFault};
use crate::kind::{Info, Kind, TYPE_HEADER_SIZE};
use crate::layout::Layout;
use crate::record_offsets::RecordOffsets;

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
    /// This blob's own string section, and the offset its first byte has (0 for a base).
    pub strings: &'a [u8],
    pub first_str: u32,
    pub layout: Option<Layout<'a>>,
}

/// What the validation pass found.
pub(crate) struct Walked {
    /// Start of each own record within the type section.
    pub offsets: RecordOffsets,
    /// Raw kind of each own record.
    pub kinds: Vec<u8>,
    /// The own types' names were proved to be in `name_key` order: the types are sorted by name
    /// as far as 16-byte keys tell (anonymous types first). `false` says nothing either way.
    pub name_ordered: bool,
}

/// Type sections up to this many bytes take the checking walk in a thread that has no batch
/// buffers for the fast walk yet (see [`Walk::run`]): measured
/// on real objects' BTF, it costs about 3 instructions a byte more than the fast walk, whose
/// fixed cost in a fresh thread is about 5,000 (so 700 bytes of types walk 4,300 instructions
/// cheaper this way, 2.3 KiB about 1,500 dearer).
const SMALL_TYPES: usize = 2 << 10;

/// What follows the headers is checked per batch of this many records.
const BATCH: usize = 256;

/// State of the hot walk.
struct Progress {
    pos: usize,
    offsets: RecordOffsets,
    kinds: Vec<u8>,
    /// Every name offset is added to `name_bias` (`2^63 - strings_end`) and or-ed in here: bit 63
    /// ends up set if and only if some offset is at or past `strings_end`.
    name_excess: u64,
    name_bias: u64,
    /// The largest type id referenced (judged once the type count is known).
    max_ref: u32,
    /// Still checking the name order, and the previous name's window (see `name_window`).
    ordered: bool,
    prev: u128,
    /// Name offsets of the last [`ORDER_LAG`] records (the `seen`-th at `seen % ORDER_LAG`):
    /// the order check looks at a name that many records after asking the CPU to fetch it.
    lagging: [u32; ORDER_LAG],
    seen: usize,
    /// The current batch's record offsets and kinds (appended to `offsets` and `kinds` when the
    /// batch is checked); `batch_len` of them are real.
    batch_offsets: [u32; BATCH],
    batch_kinds: [u8; BATCH],
    batch_len: usize,
    /// The current batch's records with elements (or array info) to check, as `vlen << 32 |
    /// index in the batch`; `pending_len` of them are real.
    pending: [u64; BATCH],
    pending_len: usize,
    /// `pending`, grouped (see [`GROUPING`]), as `vlen << 32 | position of the first element`.
    grouped: [u64; BATCH],
}

impl Progress {
    /// A zeroed state on the heap (the batch arrays are too large to move around by value).
    fn boxed() -> Box<Progress> {
        Box::new(Progress {
            pos: 0,
            offsets: RecordOffsets::default(),
            kinds: Vec::new(),
            name_excess: 0,
            name_bias: 0,
            max_ref: 0,
            ordered: true,
            prev: 0,
            lagging: [0; ORDER_LAG],
            seen: 0,
            batch_offsets: [0; BATCH],
            batch_kinds: [0; BATCH],
            batch_len: 0,
            pending: [0; BATCH],
            pending_len: 0,
            grouped: [0; BATCH],
        })
    }
}

thread_local! {
    /// The [`Progress`] of this thread's last walk, reused by the next one.
    static SPARE_PROGRESS: Cell<Option<Box<Progress>>> = const { Cell::new(None) };
    /// Whether this thread has made a [`Progress`] (kept in `SPARE_PROGRESS` between walks).
    static HAS_SPARE: Cell<bool> = const { Cell::new(false) };
}

/// How many records the name order check runs behind the walk (see [`Progress::lagging`]).
const ORDER_LAG: usize = 16;

/// Why [`Walk::fill`] returned.
enum Stop {
    /// The batch is full: check its elements, then continue.
    Full,
    /// The type section is done.
    End,
    /// A name could not be proved in order: continue without the order check.
    Disorder,
}

struct WorstRef {
    target: u32,
    id: u32,
    offset: usize,
    field: &'static str,
}

impl Walk<'_> {
    /// Validates every record and returns the start offset and raw kind of each own type, and
    /// whether the walk proved the types to be in name order (see [`Walked::name_ordered`]).
    pub(crate) fn run(&self) -> Result<Walked> {
        let fast = match self.endian {
            Endian::Little => {
                // The fast walk's batch buffers are kept per thread; until a thread has them (5 KiB
                // to clear), a small blob (a small object's own BTF) is done sooner by the
                // checking walk. `HAS_SPARE` tells without touching the spare, which would
                // register its destructor.
                if self.types.len() <= SMALL_TYPES && !HAS_SPARE.with(Cell::get) {
                    return self.checked();
                }
                // (`try_with`: during thread teardown there is no spare, and a fresh one is used.)
                let spare = SPARE_PROGRESS.try_with(|spare| spare.take()).ok().flatten();
                self.fast::<Le>(spare)
            }
            // Big-endian BTF (objects built for s390x) is rare: the checking walk serves it, so
            // that the specialised walk is compiled for one byte order only (17 KiB of code).
            Endian::Big => return self.checked(),
        };
        match fast {
            Some(walked) => Ok(walked),
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

    /// The checking walk's result as a [`Walked`], claiming nothing about name order.
    fn checked(&self) -> Result<Walked> {
        let starts = self.locate_fault()?;
        let kinds =
            starts.iter().map(|&at| Info::decode(self.endian.read_u32(self.types, at as usize + 4)).kind).collect();
        let offsets = if self.types.len() <= SMALL_TYPES {
            RecordOffsets::from_starts(starts)
        } else {
            let mut offsets = RecordOffsets::with_capacity(starts.len());
            offsets.extend(&starts);
            offsets
        };
        Ok(Walked { offsets, kinds, name_ordered: false })
    }

    /// The hot walk: record boundaries, kinds, and whether every name offset and type id is in
    /// range. `None` when something is malformed or out of range (the slow walk then says how).
    ///
    /// Records are walked one after another (where the next starts depends on this one's
    /// header), but elements are checked per batch, grouped by kind and count, so that no branch
    /// depends on a record's kind or element count (kinds arrive in no predictable order). The walk
    /// starts out also checking the name order (sorted BTF is walked to the end that way); at
    /// the first pair of names it cannot prove in order, it continues without that check.
    #[inline(never)]
    fn fast<B: ByteOrder>(&self, spare: Option<Box<Progress>>) -> Option<Walked> {
        // The batch buffers (5 KiB) are kept per thread between walks (`spare`: this thread's,
        // if it has them): clearing them for every parse would cost more than walking a small
        // object's whole BTF.
        let mut p = spare.unwrap_or_else(Progress::boxed);
        let walked = self.fast_in::<B>(&mut p);
        if SPARE_PROGRESS.try_with(|spare| spare.set(Some(p))).is_ok() {
            HAS_SPARE.with(|has| has.set(true));
        }
        walked
    }

    /// [`Walk::fast`] with `p` as its state (whatever a previous walk left in it).
    #[inline(always)]
    fn fast_in<B: ByteOrder>(&self, p: &mut Progress) -> Option<Walked> {
        // Every record takes at least a header: enough room for any input. Not zeroed: pages
        // that are never written are never faulted in, and reused heap memory is not cleared.
        let room = self.types.len() / TYPE_HEADER_SIZE;
        p.pos = 0;
        p.offsets = RecordOffsets::with_capacity(room);
        p.kinds = Vec::with_capacity(room);
        p.name_excess = 0;
        p.name_bias = (1u64 << 63) - self.strings_end as u64;
        p.max_ref = 0;
        p.ordered = true;
        p.prev = 0;
        p.seen = 0;
        p.batch_len = 0;
        p.pending_len = 0;
        loop {
            let stop = if p.ordered { self.fill::<B, true>(p)? } else { self.fill::<B, false>(p)? };
            match stop {
                Stop::Disorder => p.ordered = false,
                Stop::Full => self.check_pending::<B>(p),
                Stop::End => {
                    self.check_pending::<B>(p);
                    break;
                }
            }
        }
        if p.ordered {
            // The names the walk was still behind on.
            for s in p.seen.saturating_sub(ORDER_LAG)..p.seen {
                let name_off = p.lagging[s % ORDER_LAG];
                match name_window(self.strings, name_off, self.first_str) {
                    Some(window) if window >= p.prev => p.prev = window,
                    _ => {
                        p.ordered = false;
                        break;
                    }
                }
            }
        }
        let ids_end = self.first_id as u64 + p.offsets.len() as u64;
        if p.name_excess >> 63 != 0 || p.max_ref as u64 >= ids_end {
            return None;
        }
        let (mut offsets, mut kinds) = (std::mem::take(&mut p.offsets), std::mem::take(&mut p.kinds));
        // The room was a bound (records average 2-3 headers): give back what is worth a copy.
        if kinds.capacity() - kinds.len() > 1024 {
            offsets.shrink_to_fit();
            kinds.shrink_to_fit();
        }
        Some(Walked { offsets, kinds, name_ordered: p.ordered })
    }

    /// Walks records until the batch is full or the section ends, or with `ORDER`, until a name
    /// cannot be proved in order after the previous one (names are checked [`ORDER_LAG`] records
    /// behind the walk; the record at which it stops is left unprocessed). Checks everything in
    /// the headers; queues the rest in `pending`.
    #[inline(always)]
    fn fill<B: ByteOrder, const ORDER: bool>(&self, p: &mut Progress) -> Option<Stop> {
        let types = self.types;
        let (strings, first_str) = (self.strings, self.first_str);
        let mut pos = p.pos;
        let mut i = p.batch_len;
        let (mut name_excess, name_bias, mut max_ref) = (p.name_excess, p.name_bias, p.max_ref);
        let mut prev = p.prev;
        let mut seen = p.seen;
        let mut n = p.pending_len;
        let stop = loop {
            if i >= BATCH {
                break Stop::Full;
            }
            let Some(head) = types.get(pos..pos + TYPE_HEADER_SIZE) else {
                // Bytes left over that cannot hold a header: a truncated record.
                if pos != types.len() {
                    return None;
                }
                break Stop::End;
            };
            let name_off = B::u32(head, 0);
            let info = B::u32(head, 4);
            let word3 = B::u32(head, 8);
            if ORDER {
                // Names are scattered over the string section: fetch this one now, and check
                // the one from ORDER_LAG records ago, fetched by now.
                prefetch(strings, name_off.wrapping_sub(first_str) as usize);
                let lagging = std::mem::replace(&mut p.lagging[seen % ORDER_LAG], name_off);
                if seen >= ORDER_LAG {
                    match name_window(strings, lagging, first_str) {
                        Some(window) if window >= prev => prev = window,
                        _ => break Stop::Disorder,
                    }
                }
                seen += 1;
            }
            let kind = ((info >> 24) & 0x7f) as u8;
            let vlen = info & 0x00ff_ffff;
            let shape = SHAPES[kind as usize];
            // Known kinds: header + info + vlen elements, which cannot overflow (elements are at
            // most 12 bytes, vlen is below 2^24, and the position is within a slice).
            let end = if shape.fixed != 0 {
                pos + shape.fixed as usize + shape.elem as usize * vlen as usize
            } else {
                self.unknown_kind_end(pos, kind, vlen as usize)?
            };
            if end > types.len() {
                return None;
            }
            name_excess |= name_off as u64 + name_bias;
            max_ref = max_ref.max(word3 & shape.header_ref);
            // Queue the record if it has elements (or array info) to check; the slot is reused
            // otherwise. `n <= i < BATCH`, so the masks change nothing (but spare bounds checks).
            // The section is at most 4 GiB (header fields are 32 bits): positions fit in 32 bits.
            p.pending[n & (BATCH - 1)] = (vlen as u64) << 32 | i as u64;
            n += shape.pending as usize;
            p.batch_offsets[i & (BATCH - 1)] = pos as u32;
            p.batch_kinds[i & (BATCH - 1)] = kind;
            i += 1;
            pos = end;
        };
        p.pos = pos;
        p.batch_len = i;
        (p.name_excess, p.max_ref, p.prev, p.seen, p.pending_len) = (name_excess, max_ref, prev, seen, n);
        Some(stop)
    }

    /// Checks the names and type ids after the headers of the pending records: grouped by what
    /// they hold and, for the common kinds, by element count, so that each group runs the same
    /// fixed steps per record without branches.
    #[inline(always)]
    fn check_pending<B: ByteOrder>(&self, p: &mut Progress) {
        let batch = p.batch_len.min(BATCH);
        let pending = p.pending.get(..p.pending_len).unwrap_or_default();
        // Group of a pending entry (`vlen << 32 | batch index`), and the entry regrouped as
        // `vlen << 32 | position of its first element`.
        let group = |e: u64| {
            let kind = p.batch_kinds[e as usize & (BATCH - 1)];
            let (base, limit) = GROUPING[kind as usize & 0x7f];
            base as usize + ((e >> 32) as usize).min(limit as usize)
        };
        let mut starts = [0usize; GROUPS + 1];
        for &e in pending {
            starts[group(e) + 1] += 1;
        }
        for g in 1..=GROUPS {
            starts[g] += starts[g - 1];
        }
        let mut next = starts;
        for &e in pending {
            let g = group(e);
            let start = p.batch_offsets[e as usize & (BATCH - 1)] as u64 + TYPE_HEADER_SIZE as u64;
            p.grouped[next[g] & (BATCH - 1)] = e & !0xffff_ffff | start;
            next[g] += 1;
        }
        let grouped = &p.grouped;
        let part = |g: usize| grouped.get(starts[g]..starts[g + 1]).unwrap_or_default();
        let types = self.types;
        let bias = p.name_bias;
        let (mut names, mut refs) = (p.name_excess, p.max_ref);
        // Struct and union members: name, type, bit offset.
        let mut member = |m: &[u8]| {
            names |= B::u32(m, 0) as u64 + bias;
            refs = refs.max(B::u32(m, 4));
        };
        each::<1, 12>(types, part(MEMBERS + 1), &mut member);
        each::<2, 12>(types, part(MEMBERS + 2), &mut member);
        each::<3, 12>(types, part(MEMBERS + 3), &mut member);
        each::<4, 12>(types, part(MEMBERS + 4), &mut member);
        each::<5, 12>(types, part(MEMBERS + 5), &mut member);
        each::<6, 12>(types, part(MEMBERS + 6), &mut member);
        each::<7, 12>(types, part(MEMBERS + 7), &mut member);
        each::<0, 12>(types, part(MEMBERS + 8), &mut member);
        // Function prototype parameters: name, type (the same checks, 8-byte elements).
        each::<1, 8>(types, part(PARAMS + 1), &mut member);
        each::<2, 8>(types, part(PARAMS + 2), &mut member);
        each::<3, 8>(types, part(PARAMS + 3), &mut member);
        each::<4, 8>(types, part(PARAMS + 4), &mut member);
        each::<5, 8>(types, part(PARAMS + 5), &mut member);
        each::<6, 8>(types, part(PARAMS + 6), &mut member);
        each::<7, 8>(types, part(PARAMS + 7), &mut member);
        each::<0, 8>(types, part(PARAMS + 8), &mut member);
        // Enumerators: name, value (and a high half for ENUM64).
        let mut enumerator = |e: &[u8]| names |= B::u32(e, 0) as u64 + bias;
        each::<0, 8>(types, part(ENUMS), &mut enumerator);
        each::<0, 12>(types, part(ENUM64S), &mut enumerator);
        // Section variables: type, offset, size.
        each::<0, 12>(types, part(DATASECS), &mut |v| refs = refs.max(B::u32(v, 0)));
        // Arrays: element type, index type (as one 8-byte "element").
        each::<1, 8>(types, part(ARRAYS), &mut |a| refs = refs.max(B::u32(a, 0)).max(B::u32(a, 4)));
        (p.name_excess, p.max_ref) = (names, refs);
        p.pending_len = 0;
        p.offsets.extend(&p.batch_offsets[..batch]);
        p.kinds.extend_from_slice(&p.batch_kinds[..batch]);
        p.batch_len = 0;
    }

    /// End of a record of a kind this crate does not know, if the layout section describes it.
    #[cold]
    fn unknown_kind_end(&self, pos: usize, kind: u8, vlen: usize) -> Option<usize> {
        if kind == 0 {
            return None;
        }
        let entry = self.layout.as_ref()?.get(kind)?;
        let len = TYPE_HEADER_SIZE as u64 + entry.info_size as u64 + entry.elem_size as u64 * vlen as u64;
        usize::try_from(len).ok().and_then(|len| pos.checked_add(len))
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

/// Raw kind numbers the hot walk dispatches on.
const ARRAY: u8 = 3;
const STRUCT: u8 = 4;
const UNION: u8 = 5;
const ENUM: u8 = 6;
const FUNC_PROTO: u8 = 13;
const DATASEC: u8 = 15;
const ENUM64: u8 = 19;

/// Record shape of a known raw kind, for the hot walk.
#[derive(Clone, Copy)]
struct Shape {
    /// Header plus fixed info bytes; 0 for kind 0 and kinds newer than this crate.
    fixed: u32,
    /// Bytes per vlen element.
    elem: u32,
    /// All ones if the third header word is a type id, else 0.
    header_ref: u32,
    /// 1 if names or type ids follow the header (elements, or an array's info), else 0.
    pending: u32,
}

/// Shapes by raw kind (the info word has 7 kind bits).
static SHAPES: [Shape; 128] = shapes();

const fn shapes() -> [Shape; 128] {
    let mut table = [Shape { fixed: 0, elem: 0, header_ref: 0, pending: 0 }; 128];
    let mut i = 0;
    while i < Kind::ALL.len() {
        let k = Kind::ALL[i];
        let raw = i + 1;
        table[raw] = Shape {
            fixed: (TYPE_HEADER_SIZE + k.info_size()) as u32,
            elem: k.elem_size() as u32,
            header_ref: if k.has_type_ref() { u32::MAX } else { 0 },
            pending: (GROUPING[raw].0 != 0 || GROUPING[raw].1 != 0) as u32,
        };
        i += 1;
    }
    table
}

/// Groups of [`Walk::check_pending`]: members of structs and unions by count (`MEMBERS + n`,
/// `n` = 1..=7, 8 for more; `MEMBERS + 0` checks nothing), parameters likewise, then one group
/// each for enumerators, 64-bit enumerators, section variables and arrays.
const MEMBERS: usize = 0;
const PARAMS: usize = 9;
const ENUMS: usize = 18;
const ENUM64S: usize = 19;
const DATASECS: usize = 20;
const ARRAYS: usize = 21;
const GROUPS: usize = 22;

/// Per raw kind, `(base, limit)`: a pending record of that kind with vlen `v` goes to group
/// `base + min(v, limit)`. `(0, 0)` for kinds with nothing to check past the header.
static GROUPING: [(u8, u8); 128] = {
    let mut table = [(0u8, 0u8); 128];
    table[STRUCT as usize] = (MEMBERS as u8, 8);
    table[UNION as usize] = (MEMBERS as u8, 8);
    table[FUNC_PROTO as usize] = (PARAMS as u8, 8);
    table[ENUM as usize] = (ENUMS as u8, 0);
    table[ENUM64 as usize] = (ENUM64S as u8, 0);
    table[DATASEC as usize] = (DATASECS as u8, 0);
    table[ARRAY as usize] = (ARRAYS as u8, 0);
    table
};

/// Runs `f` on each `SIZE`-byte element of each record of `records` (`vlen << 32 | position
/// of the first element`): `K` of them per record, or for `K == 0` as many as its vlen says.
/// With `K` fixed, the steps per record are fixed too (unrolled, no bounds checks inside).
#[inline(always)]
fn each<const K: usize, const SIZE: usize>(types: &[u8], records: &[u64], f: &mut impl FnMut(&[u8])) {
    for &e in records {
        let start = (e & 0xffff_ffff) as usize;
        let count = if K == 0 { (e >> 32) as usize } else { K };
        // Within a record the walk proved complete, so never empty for a nonzero count.
        let elems = types.get(start..start + count * SIZE).unwrap_or_default();
        for elem in elems.chunks_exact(SIZE) {
            f(elem);
        }
    }
}

/// The first 16 bytes of the name at string offset `off`, big-endian, zero-padded past the
/// section's end; 0 for offset 0 (the empty string). `None` when the name is not in this blob's
/// own strings (a split's name in its base).
///
/// Windows compare like the names' [`name_key`](crate::names::name_key)s wherever they differ
/// in order: bytes after a name's NUL are garbage, but they are only reached when both names
/// agree up to and including that NUL, that is, when the names are equal. So windows in
/// non-decreasing order prove the keys are in non-decreasing order (the converse can fail only
/// for equal names at different offsets, which then leaves the order to the exact check).
#[inline(always)]
fn name_window(strings: &[u8], off: u32, first_str: u32) -> Option<u128> {
    if off == 0 {
        return Some(0);
    }
    let rel = off.wrapping_sub(first_str) as usize;
    match strings.get(rel..rel.wrapping_add(16)) {
        Some(bytes) => <[u8; 16]>::try_from(bytes).ok().map(u128::from_be_bytes),
        None => {
            let tail = strings.get(rel..).filter(|t| !t.is_empty())?;
            let mut w = [0u8; 16];
            let n = tail.len().min(16);
            w[..n].copy_from_slice(&tail[..n]);
            Some(u128::from_be_bytes(w))
        }
    }
}

/// Byte-order-specialised reads for the hot walk (a plain load on the native order).
trait ByteOrder {
    fn u32(bytes: &[u8], off: usize) -> u32;
}

struct Le;

impl ByteOrder for Le {
    #[inline(always)]
    fn u32(b: &[u8], off: usize) -> u32 {
        match b.get(off..off + 4) {
            Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]),
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::{BtfBuilder, MemberSpec, RecordData, TypeRecord};
    use crate::header::Header;
    use crate::names::name_key;
    use crate::types::{IntEncoding, VarSecinfo};
    use crate::{Btf, TypeId};

    /// Both walks of the validation pass on a raw base blob: the hot one and the slow one that
    /// locates faults. `None` if the blob fails before the walks (header, strings, layout).
    fn walks(blob: &[u8]) -> Option<(Option<Walked>, Result<Vec<u32>>)> {
        let header = Header::parse(blob).ok()?;
        let strings = blob.get(header.strings_range())?;
        let layout = header.layout_range();
        let layout = if layout.is_empty() { None } else { Some(Layout::parse(blob.get(layout)?, header.endian).ok()?) };
        let walk = Walk {
            types: blob.get(header.types_range())?,
            types_at: header.types_range().start,
            endian: header.endian,
            first_id: 1,
            strings_end: strings.len() as u32,
            strings,
            first_str: 0,
            layout,
        };
        // The hot walk for little-endian BTF of any size (the parse takes it past `SMALL_TYPES`,
        // or once the thread has its buffers), the checking walk for big.
        let fast = match header.endian {
            Endian::Little => walk.fast::<Le>(None),
            Endian::Big => walk.checked().ok(),
        };
        Some((fast, walk.locate_fault()))
    }

    /// The hot walk accepts exactly what the slow walk accepts, finds the same records, and
    /// claims name order only where the names' keys really are in order.
    fn assert_walks_agree(blob: &[u8], what: &str) -> Option<bool> {
        let (fast, slow) = walks(blob)?;
        match (fast, slow) {
            (Some(walked), Ok(offsets)) => {
                assert!(walked.offsets.iter().eq(offsets.iter().map(|&o| o as usize)), "{what}: record offsets");
                assert_eq!(walked.kinds.len(), offsets.len(), "{what}: kinds");
                if walked.name_ordered {
                    let header = Header::parse(blob).ok()?;
                    let (types, strings) = (&blob[header.types_range()], &blob[header.strings_range()]);
                    let keys: Vec<u128> = offsets
                        .iter()
                        .map(|&o| {
                            let off = header.endian.read_u32(types, o as usize) as usize;
                            name_key(strings.get(off..).unwrap_or_default())
                        })
                        .collect();
                    assert!(keys.windows(2).all(|w| w[0] <= w[1]), "{what}: claimed sorted, but is not");
                }
                Some(walked.name_ordered)
            }
            (None, Err(_)) => Some(false),
            (fast, slow) => panic!("{what}: hot walk ok: {}, slow walk: {slow:?}", fast.is_some()),
        }
    }

    /// Many types of every kind, more than two batches' worth, names in no order.
    fn mixed(endian: Endian) -> Vec<u8> {
        let mut b = BtfBuilder::new();
        b.set_endian(endian);
        let int = b.add_int("int", 4, IntEncoding::SIGNED);
        let mut last = int;
        for i in 0..(3 * BATCH as u32) {
            let name = format!("t{}", i.wrapping_mul(2_654_435_761) % 9973);
            last = match i % 13 {
                0 => b.add_ptr(last),
                1 => b.add_array(int, int, i),
                2 => {
                    let members: Vec<String> = (0..i % 11).map(|m| format!("m{m}")).collect();
                    let specs: Vec<MemberSpec<'_>> =
                        members.iter().enumerate().map(|(k, m)| MemberSpec::new(m, last, k as u32 * 4)).collect();
                    b.add_struct(&name, 64, &specs)
                }
                3 => b.add_union(&name, 8, &[MemberSpec::new("a", int, 0), MemberSpec::new("b", last, 0)]),
                4 => {
                    let values: Vec<(String, i32)> = (0..i % 9).map(|v| (format!("E{i}_{v}"), v as i32)).collect();
                    let values: Vec<(&str, i32)> = values.iter().map(|(n, v)| (n.as_str(), *v)).collect();
                    b.add_enum(&name, 4, false, &values)
                }
                5 => b.add_enum64(&name, 8, true, &[("X", 1), ("Y", 1 << 40)]),
                6 => {
                    let params: Vec<(&str, TypeId)> = (0..i % 10).map(|_| ("p", last)).collect();
                    b.add_func_proto(int, &params)
                }
                7 => b.add_func(&name, last, 1),
                8 => b.add_typedef(&name, last),
                9 => b.add_var(&name, int, 1),
                10 => b.add_datasec(".data", 8, &[VarSecinfo { ty: last, offset: 0, size: 4 }]),
                11 => b.add_decl_tag("tag", last, -1),
                _ => b.add_const(last),
            };
        }
        b.encode().unwrap()
    }

    /// Anonymous types, then named ones in name order, the largest name last in the strings.
    fn sorted(endian: Endian) -> Vec<u8> {
        let mut b = BtfBuilder::new();
        b.set_endian(endian);
        for _ in 0..100 {
            b.add_ptr(0);
        }
        let mut names: Vec<String> = (0..2 * BATCH).map(|i| format!("trace_event_raw_{:05}", i * 7 % 1500)).collect();
        names.extend((0..BATCH).map(|i| format!("n{i:04}")));
        names.push("zz".to_string());
        names.sort();
        for (i, n) in names.iter().enumerate() {
            match i % 3 {
                0 => b.add_struct(n, 4, &[MemberSpec::new("x", 1, 0)]),
                1 => b.add_typedef(n, 1),
                _ => b.add_int(n, 4, IntEncoding::NONE),
            };
        }
        b.encode().unwrap()
    }

    #[test]
    fn the_hot_walk_proves_the_order_of_sorted_btf() {
        assert_eq!(assert_walks_agree(&sorted(Endian::Little), "sorted"), Some(true));
        assert_eq!(assert_walks_agree(&mixed(Endian::Little), "mixed"), Some(false));
        // Big-endian BTF takes the checking walk, which proves nothing about order (lookups
        // then index the names instead of searching them).
        assert_eq!(assert_walks_agree(&sorted(Endian::Big), "sorted"), Some(false));
        assert_eq!(assert_walks_agree(&mixed(Endian::Big), "mixed"), Some(false));
    }

    #[test]
    fn equal_names_at_different_offsets_are_left_to_the_exact_check() {
        // "b" as its own string and as the tail of "ab": equal names, different offsets. The
        // bytes after each name differ, so the walk cannot prove the order; the exact check does.
        let mut b = BtfBuilder::new();
        b.add_int("a", 4, IntEncoding::NONE);
        let ab = b.add_string("ab");
        let int = |name_off| TypeRecord {
            name_off,
            kind_flag: false,
            data: RecordData::Int { size: 4, info: crate::types::IntInfo::new(IntEncoding::NONE, 0, 32) },
        };
        let b_off = b.add_string("b");
        let second = b.add_type(int(b_off));
        b.add_string("zzz");
        let first = b.add_type(int(ab + 1));
        let blob = b.encode().unwrap();
        assert_eq!(assert_walks_agree(&blob, "tie"), Some(false));
        let btf = Btf::parse(blob).unwrap();
        assert!(btf.is_sorted_by_name());
        assert_eq!(btf.find_all_by_name("b"), [second, first]);
    }

    #[test]
    fn split_names_in_the_base_are_left_to_the_exact_check() {
        let mut b = BtfBuilder::new();
        b.add_int("int", 4, IntEncoding::SIGNED);
        b.add_int("zzz", 4, IntEncoding::SIGNED);
        let base = std::sync::Arc::new(Btf::parse(b.encode().unwrap()).unwrap());
        let mut m = BtfBuilder::new_split(&base);
        let a = m.add_int("aaa", 4, IntEncoding::NONE);
        let int = m.add_typedef("int", a); // "int" is the base's string
        let split = Btf::parse_split(m.encode().unwrap(), base).unwrap();
        assert!(split.is_sorted_by_name());
        assert_eq!(split.find_all_by_name("int"), [1, int]);
    }

    /// Small deterministic generator (xorshift64*).
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

    #[test]
    fn mutated_records_are_judged_alike_by_both_walks() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for (what, endian, blob) in [
            ("mixed le", Endian::Little, mixed(Endian::Little)),
            ("mixed be", Endian::Big, mixed(Endian::Big)),
            ("sorted le", Endian::Little, sorted(Endian::Little)),
            ("sorted be", Endian::Big, sorted(Endian::Big)),
        ] {
            let header = Header::parse(&blob).unwrap();
            let (types, strings) = (header.types_range(), header.strings_range());
            let type_count = walks(&blob).unwrap().1.unwrap().len() as u32;
            let mut rejected = 0;
            for case in 0..3000 {
                let mut m = blob.clone();
                for _ in 0..1 + rng.below(3) {
                    let at = types.start + rng.below(types.len() / 4) * 4;
                    let old = endian.read_u32(&m, at);
                    let value = match rng.below(9) {
                        0 => rng.next() as u32,
                        1 => old ^ 1 << rng.below(32),
                        2 => strings.len() as u32 - rng.below(2) as u32,
                        3 => type_count + rng.below(2) as u32,
                        4 => old.wrapping_add(rng.below(3) as u32).wrapping_sub(1),
                        5 => old & 0xff00_0000 | rng.below(20) as u32,
                        6 => (rng.below(24) as u32) << 24 | old & 0x00ff_ffff,
                        7 => (rng.below(4) as u32 * 0x7f) << 24 | old & 0xffff,
                        _ => rng.below(4) as u32,
                    };
                    m[at..at + 4].copy_from_slice(&match endian {
                        Endian::Little => value.to_le_bytes(),
                        Endian::Big => value.to_be_bytes(),
                    });
                }
                if rng.below(8) == 0 {
                    // Cut the type section short (the strings move up: also checks a new end).
                    let cut = rng.below(16);
                    let len = header.type_len.saturating_sub(cut as u32);
                    let mut h = m.clone();
                    let off = 12;
                    h[off..off + 4].copy_from_slice(&match endian {
                        Endian::Little => len.to_le_bytes(),
                        Endian::Big => len.to_be_bytes(),
                    });
                    m = h;
                }
                if assert_walks_agree(&m, &format!("{what}, case {case}")) != Some(true)
                    && walks(&m).is_some_and(|(f, _)| f.is_none())
                {
                    rejected += 1;
                }
            }
            assert!(rejected > 300, "{what}: the mutations should break many blobs ({rejected})");
        }
    }
}
