//! Layout decisions: what a C compiler would do with a struct as printed, compared with the
//! offsets and sizes BTF records, and what to add so that both agree.
//!
//! A header only works for CO-RE if the compiler lays each struct out exactly as BTF says
//! (field accesses are relocated, but sizes, `sizeof` and array strides are not). Two tools
//! make it so, as in libbpf: `__attribute__((packed))` when some member sits off its natural
//! alignment or the size is not a multiple of the alignment, and anonymous bitfields
//! (`long: 64;`, `int: 3;`) that fill holes the compiler would not leave by itself.
//!
//! Alignment here follows libbpf's rules rather than [`Btf::align_of`](crate::Btf::align_of):
//! types without alignment (void, FWD, functions) count as 0, which disables the checks that
//! need one, instead of failing.

use super::CHeaderError;
use super::state::{Dumper, Result};
use crate::TypeId;
use crate::resolve::MAX_RESOLVE_DEPTH;
use crate::types::TypeDetails;

/// Largest hole, in bits, that is filled with padding members (2^24 bits = 2 MiB: ~260k
/// `long: 64;` lines). Kernel structs have holes of at most a few KiB.
const MAX_PADDING_BITS: u64 = 1 << 24;

/// Alignments already computed, by type id.
pub(super) struct LayoutCache {
    align: Vec<Option<u64>>,
}

impl LayoutCache {
    /// An empty cache for `count` type ids.
    pub fn new(count: usize) -> LayoutCache {
        LayoutCache { align: vec![None; count] }
    }
}

/// `x` rounded up to a multiple of `to` (unchanged for `to == 0`).
fn round_up(x: u64, to: u64) -> u64 {
    if to == 0 { x } else { x.div_ceil(to).saturating_mul(to) }
}

impl Dumper<'_> {
    /// Alignment in bytes of `id` as libbpf computes it: scalars by size capped at the pointer
    /// size, aggregates by their most aligned member, 1 for a packed struct, 0 when unknown.
    pub fn align_of(&mut self, id: TypeId) -> Result<u64> {
        if let Some(Some(known)) = self.layout.align.get(id as usize) {
            return Ok(*known);
        }
        let align = self.nested(id, "alignment of nested types", |d| d.align_of_uncached(id))?;
        if let Some(slot) = self.layout.align.get_mut(id as usize) {
            *slot = Some(align);
        }
        Ok(align)
    }

    fn align_of_uncached(&mut self, id: TypeId) -> Result<u64> {
        if id == 0 {
            return Ok(0);
        }
        let t = self.ty(id)?;
        let ptr = self.ptr_size as u64;
        Ok(match t.details() {
            TypeDetails::Int(_) | TypeDetails::Enum(_) | TypeDetails::Enum64(_) | TypeDetails::Float => {
                (t.size_or_type() as u64).min(ptr)
            }
            TypeDetails::Ptr(_) => ptr,
            TypeDetails::Typedef(r)
            | TypeDetails::Volatile(r)
            | TypeDetails::Const(r)
            | TypeDetails::Restrict(r)
            | TypeDetails::TypeTag(r) => self.align_of(r)?,
            TypeDetails::Array(a) => self.align_of(a.elem_type)?,
            TypeDetails::Struct(members) | TypeDetails::Union(members) => {
                let mut max = 1;
                for m in members {
                    let align = self.align_of(m.ty)?;
                    if align == 0 {
                        return Ok(0);
                    }
                    max = max.max(align);
                    if m.bitfield_size() == 0 && m.bit_offset() as u64 % (8 * align) != 0 {
                        return Ok(1);
                    }
                }
                if t.size_or_type() as u64 % max != 0 { 1 } else { max }
            }
            _ => 0,
        })
    }

    /// Size in bytes of a value of `id`, as libbpf resolves it; `None` when it has none (void,
    /// FWD, functions) or overflows 32 bits. A member without size advances the offset by 0.
    pub fn resolve_size(&self, mut id: TypeId) -> Result<Option<u64>> {
        let mut elems: u64 = 1;
        for _ in 0..MAX_RESOLVE_DEPTH {
            if id == 0 {
                return Ok(None);
            }
            let t = self.ty(id)?;
            let size = match t.details() {
                TypeDetails::Int(_)
                | TypeDetails::Struct(_)
                | TypeDetails::Union(_)
                | TypeDetails::Enum(_)
                | TypeDetails::Enum64(_)
                | TypeDetails::Datasec(_)
                | TypeDetails::Float => t.size_or_type() as u64,
                TypeDetails::Ptr(_) => self.ptr_size as u64,
                TypeDetails::Typedef(r)
                | TypeDetails::Volatile(r)
                | TypeDetails::Const(r)
                | TypeDetails::Restrict(r)
                | TypeDetails::Var { ty: r, .. }
                | TypeDetails::DeclTag { ty: r, .. }
                | TypeDetails::TypeTag(r) => {
                    id = r;
                    continue;
                }
                TypeDetails::Array(a) => {
                    elems *= a.nelems as u64;
                    if elems > u32::MAX as u64 {
                        return Ok(None);
                    }
                    id = a.elem_type;
                    continue;
                }
                _ => return Ok(None),
            };
            let total = elems * size;
            return Ok((total <= u32::MAX as u64).then_some(total));
        }
        Ok(None)
    }

    /// Whether struct `id` needs `__attribute__((packed))` to get the layout BTF describes: a
    /// plain member off its natural alignment, or a size that is not a multiple of the
    /// alignment. A struct declared packed in the source but laid out naturally is not.
    pub fn is_packed(&mut self, id: TypeId) -> Result<bool> {
        let t = self.ty(id)?;
        let mut max = 1;
        for m in t.members() {
            let align = self.align_of(m.ty)?;
            if align != 0 && m.bitfield_size() == 0 && m.bit_offset() as u64 % (8 * align) != 0 {
                return Ok(true);
            }
            max = max.max(align);
        }
        Ok(t.size_or_type() as u64 % max != 0)
    }

    /// Prints anonymous bitfields that move the compiler's offset from `cur` to `next` (bits)
    /// in struct `id`; `next_align` is the alignment (bytes) of the member that follows,
    /// `in_bitfield` whether both sides of the hole are bitfields (then the compiler packs
    /// bitfields together unless told the exact width).
    ///
    /// The largest of `long`, `int`, `short`, `char` whose next boundary does not overshoot
    /// `next` is used: an explicit `T: 0;` first when the compiler would not align there by
    /// itself, then `T: bits(T);` members, then one smallest-fitting member for the rest.
    pub fn pad(
        &mut self,
        id: TypeId,
        cur: u64,
        next: u64,
        next_align: u64,
        in_bitfield: bool,
        lvl: usize,
    ) -> Result<()> {
        if cur >= next {
            return Ok(());
        }
        if next - cur > MAX_PADDING_BITS {
            return Err(CHeaderError::HugePadding { id, bits: next - cur });
        }
        let pads: [(&str, u64); 4] = [("long", self.ptr_size as u64 * 8), ("int", 32), ("short", 16), ("char", 8)];
        let mut cur = cur;
        // The widest unit whose boundary after `cur` is still within the hole (else `char`).
        let (mut unit, mut unit_bits) =
            pads.iter().copied().find(|&(_, bits)| round_up(cur, bits) <= next).unwrap_or(("char", 8));
        let boundary = round_up(cur, unit_bits);
        if boundary > cur && boundary <= next {
            let compiler_would_not_align = boundary == next && round_up(cur, next_align * 8) != boundary;
            let rest_would_fit_in_hole = boundary != next && next - boundary <= boundary - cur;
            if in_bitfield || compiler_would_not_align || rest_would_fit_in_hole {
                let width = if in_bitfield { boundary - cur } else { 0 };
                self.pad_member(unit, width, lvl);
            }
            cur = boundary;
        }
        while cur != next {
            let chunk = (next - cur).min(unit_bits);
            if chunk == unit_bits {
                self.pad_member(unit, unit_bits, lvl);
                cur += chunk;
                continue;
            }
            // The rest is smaller than a unit: the narrowest type that holds it, for legibility.
            match pads.iter().rev().find(|&&(_, bits)| bits >= chunk) {
                Some(&(name, bits)) => {
                    (unit, unit_bits) = (name, bits);
                    self.pad_member(unit, chunk, lvl);
                }
                None => self.pad_member(unit, chunk, lvl),
            }
            cur += chunk;
        }
        Ok(())
    }

    fn pad_member(&mut self, unit: &str, bits: u64, lvl: usize) {
        self.out.put("\n");
        self.out.indent(lvl);
        self.out.fmt(format_args!("{unit}: {bits};"));
    }
}
