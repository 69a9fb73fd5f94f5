//! Queries that follow references: through typedefs and modifiers, sizes, alignment, members.
//!
//! Every walk is bounded: BTF from a hostile or corrupt source may contain reference cycles
//! (`typedef A -> const -> typedef A`, a struct containing itself by value), which the kernel
//! rejects at load time. Here they end in [`BtfError::TooDeep`] instead of a hang.

use crate::TypeId;
use std::collections::{HashMap, HashSet};

use crate::btf::Btf;
use crate::error::{BtfError, Result};
use crate::kind::Kind;
use crate::types::{Member, Type, TypeDetails};

/// Longest typedef/modifier chain followed (libbpf and the kernel use 32 as well).
pub const MAX_RESOLVE_DEPTH: u32 = 32;
/// Deepest nesting of arrays/structs followed when computing sizes and alignment.
pub const MAX_NESTING_DEPTH: u32 = 64;

/// A member found by name, possibly inside anonymous structs/unions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FoundMember {
    /// The member itself.
    pub member: Member,
    /// Index of the member within its immediate parent.
    pub index: usize,
    /// The type that directly contains it (the outer struct, or an anonymous inner one).
    pub parent: TypeId,
    /// Bit offset from the start of the outer type (anonymous parents' offsets added).
    pub bit_offset: u64,
}

impl Btf {
    /// Follows typedefs and modifiers (const, volatile, restrict, type tags) to the underlying
    /// type. Void (0) resolves to itself.
    pub fn resolve(&self, id: TypeId) -> Result<TypeId> {
        self.skip_chain(id, true)
    }

    /// Follows modifiers but stops at typedefs.
    pub fn skip_modifiers(&self, id: TypeId) -> Result<TypeId> {
        self.skip_chain(id, false)
    }

    /// [`resolve`](Self::resolve), giving the view of the type it ends at (`None` for void):
    /// the walk has built that view already, which a second lookup by id would build again.
    pub fn resolve_type(&self, id: TypeId) -> Result<Option<Type<'_>>> {
        self.skip_chain_type(id, true)
    }

    /// [`skip_modifiers`](Self::skip_modifiers), giving the view of the type it ends at
    /// (`None` for void).
    pub fn skip_modifiers_type(&self, id: TypeId) -> Result<Option<Type<'_>>> {
        self.skip_chain_type(id, false)
    }

    fn skip_chain(&self, id: TypeId, typedefs: bool) -> Result<TypeId> {
        Ok(self.skip_chain_type(id, typedefs)?.map_or(0, |t| t.id()))
    }

    fn skip_chain_type(&self, mut id: TypeId, typedefs: bool) -> Result<Option<Type<'_>>> {
        for _ in 0..MAX_RESOLVE_DEPTH {
            if id == 0 {
                return Ok(None);
            }
            let ty = self.type_by_id(id)?;
            let kind = ty.kind();
            if kind.is_modifier() || (typedefs && kind == Kind::Typedef) {
                id = ty.size_or_type();
            } else {
                return Ok(Some(ty));
            }
        }
        Err(BtfError::TooDeep { id, limit: MAX_RESOLVE_DEPTH, what: "typedef/modifier chain" })
    }

    /// Size of a pointer in the program this BTF describes: 8 unless `long` says otherwise.
    ///
    /// BTF has no pointer size; like libbpf, look for the size of `long`. Kernel BTF always
    /// has it.
    pub fn pointer_size(&self) -> u32 {
        *self.pointer_size.get_or_init(|| {
            for name in ["long", "unsigned long", "long int", "long unsigned int"] {
                if let Some(id) = self.find_by_name_kind(name, Kind::Int) {
                    if let Ok(Some(size @ (4 | 8))) = self.type_by_id(id).map(|t| t.size()) {
                        return size;
                    }
                }
            }
            8
        })
    }

    /// Size in bytes of a value of type `id`, as `sizeof` in C.
    pub fn size_of(&self, id: TypeId) -> Result<u64> {
        self.size_of_at(id, 0)
    }

    fn size_of_at(&self, id: TypeId, depth: u32) -> Result<u64> {
        if depth > MAX_NESTING_DEPTH {
            return Err(BtfError::TooDeep { id, limit: MAX_NESTING_DEPTH, what: "array nesting" });
        }
        let Some(ty) = self.resolve_type(id)? else {
            return Err(BtfError::WrongKind { id: 0, found: None, expected: "a sized type (void has no size)" });
        };
        let id = ty.id();
        match ty.details() {
            TypeDetails::Ptr(_) => Ok(self.pointer_size() as u64),
            TypeDetails::Array(a) => self
                .size_of_at(a.elem_type, depth + 1)?
                .checked_mul(a.nelems as u64)
                .ok_or(BtfError::SizeOverflow { id }),
            TypeDetails::Var { ty, .. } => self.size_of_at(ty, depth + 1),
            _ => match ty.size() {
                Some(size) => Ok(size as u64),
                None => Err(BtfError::WrongKind { id, found: Some(ty.kind()), expected: "a sized type" }),
            },
        }
    }

    /// Alignment in bytes of type `id`, as `_Alignof` in C (1 for packed structs).
    ///
    /// Each type's alignment is computed once per call: structs that embed the same type many
    /// times over (valid, if contrived, BTF) would otherwise take exponential time.
    pub fn align_of(&self, id: TypeId) -> Result<u64> {
        self.align_of_at(id, 0, &mut HashMap::new())
    }

    fn align_of_at(&self, id: TypeId, depth: u32, known: &mut HashMap<TypeId, u64>) -> Result<u64> {
        if depth > MAX_NESTING_DEPTH {
            return Err(BtfError::TooDeep { id, limit: MAX_NESTING_DEPTH, what: "type nesting" });
        }
        let id = self.resolve(id)?;
        if id == 0 {
            return Err(BtfError::WrongKind { id, found: None, expected: "a sized type (void has no alignment)" });
        }
        if let Some(&align) = known.get(&id) {
            return Ok(align);
        }
        // Only successes are remembered, so a cycle still ends in `TooDeep`.
        let align = self.align_of_uncached(id, depth, known)?;
        known.insert(id, align);
        Ok(align)
    }

    fn align_of_uncached(&self, id: TypeId, depth: u32, known: &mut HashMap<TypeId, u64>) -> Result<u64> {
        let ty = self.type_by_id(id)?;
        let ptr = self.pointer_size() as u64;
        match ty.details() {
            TypeDetails::Int(_) | TypeDetails::Enum(_) | TypeDetails::Enum64(_) | TypeDetails::Float => {
                // Scalars are aligned to their size, capped at the word size (i386 `long long`).
                Ok((ty.size_or_type() as u64).min(ptr).max(1))
            }
            TypeDetails::Ptr(_) => Ok(ptr),
            TypeDetails::Array(a) => self.align_of_at(a.elem_type, depth + 1, known),
            TypeDetails::Struct(members) | TypeDetails::Union(members) => {
                let mut align = 1u64;
                for m in members {
                    let member_align = self.align_of_at(m.ty, depth + 1, known)?;
                    // A member placed off its natural alignment means the struct is packed.
                    if m.bitfield_size() == 0 && m.bit_offset() as u64 % (member_align * 8) != 0 {
                        return Ok(1);
                    }
                    align = align.max(member_align);
                }
                // A size that is not a multiple of the alignment also means packed.
                if ty.size_or_type() as u64 % align != 0 {
                    return Ok(1);
                }
                Ok(align)
            }
            TypeDetails::Var { ty, .. } => self.align_of_at(ty, depth + 1, known),
            _ => Err(BtfError::WrongKind { id, found: Some(ty.kind()), expected: "a sized type" }),
        }
    }

    /// Finds member `name` of struct/union `id` (typedefs and modifiers resolved), looking into
    /// anonymous struct/union members the way C name lookup does.
    ///
    /// An anonymous type already searched without a match is not searched again, which keeps
    /// the lookup linear when one anonymous type is embedded many times.
    pub fn find_member(&self, id: TypeId, name: &str) -> Result<Option<FoundMember>> {
        self.find_member_at(id, name.as_bytes(), 0, 0, &mut HashSet::new())
    }

    fn find_member_at(
        &self,
        id: TypeId,
        name: &[u8],
        base_bits: u64,
        depth: u32,
        searched: &mut HashSet<TypeId>,
    ) -> Result<Option<FoundMember>> {
        if depth > MAX_NESTING_DEPTH {
            return Err(BtfError::TooDeep { id, limit: MAX_NESTING_DEPTH, what: "anonymous member nesting" });
        }
        let id = self.resolve(id)?;
        if id == 0 {
            return Err(BtfError::WrongKind { id, found: None, expected: "STRUCT or UNION" });
        }
        let ty = self.type_by_id(id)?;
        if !ty.is_composite() {
            return Err(BtfError::WrongKind { id, found: Some(ty.kind()), expected: "STRUCT or UNION" });
        }
        for (index, m) in ty.members().enumerate() {
            let bit_offset = base_bits + m.bit_offset() as u64;
            let member_name = self.str_bytes_at(m.name_off)?;
            if member_name == name {
                return Ok(Some(FoundMember { member: m, index, parent: id, bit_offset }));
            }
            if member_name.is_empty() {
                let inner = self.resolve(m.ty)?;
                if matches!(self.kind_of(inner), Some(Kind::Struct | Kind::Union)) && !searched.contains(&inner) {
                    if let Some(found) = self.find_member_at(inner, name, bit_offset, depth + 1, searched)? {
                        return Ok(Some(found));
                    }
                    searched.insert(inner);
                }
            }
        }
        Ok(None)
    }
}
