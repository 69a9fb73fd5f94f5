//! The text of single definitions: struct and union bodies, enums, typedefs, forward
//! declarations. Nested anonymous types are printed inline through the declarator code, which
//! calls back into these with a deeper indentation level.

use super::state::{Dumper, Result};
use crate::TypeId;
use crate::kind::Kind;
use crate::types::TypeDetails;

/// Typedefs GCC emits for Arm SIMD intrinsic types that no other compiler knows, and the
/// standard types with the same representation.
const MISSING_ALIASES: [(&str, &str); 4] = [
    ("__Poly8_t", "unsigned char"),
    ("__Poly16_t", "unsigned short"),
    ("__Poly64_t", "unsigned long long"),
    ("__Poly128_t", "unsigned __int128"),
];

impl Dumper<'_> {
    /// `struct NAME` / `union NAME` (bare `struct` when anonymous).
    pub fn struct_fwd(&mut self, id: TypeId) -> Result<()> {
        let keyword = if self.ty(id)?.kind() == Kind::Union { "union" } else { "struct" };
        let name = self.tag_name(id)?;
        self.out.put(keyword);
        if !name.is_empty() {
            self.out.put(" ");
            self.out.put(&name);
        }
        Ok(())
    }

    /// A struct or union with its members at indentation level `lvl`, without the final `;`.
    pub fn struct_def(&mut self, id: TypeId, lvl: usize) -> Result<()> {
        let t = self.ty(id)?;
        let is_struct = t.kind() == Kind::Struct;
        let align = self.align_of(id)?;
        let packed = is_struct && self.is_packed(id)?;
        self.struct_fwd(id)?;
        self.out.put(" {");
        let mut end = 0u64;
        let mut prev_bitfield = false;
        for m in t.members() {
            let field = self.btf.str_at(m.name_off)?;
            let bits = m.bitfield_size() as u64;
            let offset = m.bit_offset() as u64;
            let member_align = if packed { 1 } else { self.align_of(m.ty)? };
            self.pad(id, end, offset, member_align, prev_bitfield && bits != 0, lvl + 1)?;
            self.out.put("\n");
            self.out.indent(lvl + 1);
            self.decl(m.ty, field, lvl + 1)?;
            if bits != 0 {
                self.out.fmt(format_args!(": {bits}"));
                end = offset + bits;
                prev_bitfield = true;
            } else {
                end = offset + self.resolve_size(m.ty)?.unwrap_or(0) * 8;
                prev_bitfield = false;
            }
            self.out.put(";");
        }
        let size = t.size_or_type() as u64;
        if is_struct {
            self.pad(id, end, size * 8, align, false, lvl + 1)?;
        }
        // `struct empty {}` stays on one line.
        if t.vlen() != 0 || size != 0 {
            self.out.put("\n");
            self.out.indent(lvl);
        }
        self.out.put("}");
        if packed {
            self.out.put(" __attribute__((packed))");
        }
        Ok(())
    }

    /// `enum NAME`.
    pub fn enum_fwd(&mut self, id: TypeId) -> Result<()> {
        let name = self.tag_name(id)?;
        self.out.put("enum ");
        self.out.put(&name);
        Ok(())
    }

    /// An enum with its values at level `lvl`, without the final `;`. Sizes other than the
    /// default 4 are forced with `mode` attributes where the values would not imply them.
    pub fn enum_def(&mut self, id: TypeId, lvl: usize) -> Result<()> {
        let t = self.ty(id)?;
        let name = self.tag_name(id)?;
        self.out.put("enum");
        if !name.is_empty() {
            self.out.put(" ");
            self.out.put(&name);
        }
        if t.vlen() == 0 {
            return Ok(());
        }
        self.out.put(" {");
        let signed = t.kind_flag();
        // An 8-byte ENUM always needs `mode(word)`; an ENUM64 only when every value fits in
        // 32 bits (else the compiler widens it by itself).
        let mut fits_32 = true;
        match t.details() {
            TypeDetails::Enum(values) => {
                for v in values {
                    let name = self.enumerator_name(self.btf.str_at(v.name_off)?);
                    self.enumerator_start(&name, lvl);
                    if signed {
                        self.out.fmt(format_args!("{},", v.raw_value as i32));
                    } else {
                        self.out.fmt(format_args!("{},", v.raw_value));
                    }
                }
            }
            TypeDetails::Enum64(values) => {
                for v in values {
                    let name = self.enumerator_name(self.btf.str_at(v.name_off)?);
                    self.enumerator_start(&name, lvl);
                    if signed {
                        self.out.fmt(format_args!("{}LL,", v.raw_value() as i64));
                    } else {
                        self.out.fmt(format_args!("{}ULL,", v.raw_value()));
                    }
                    fits_32 &= v.hi32 == 0;
                }
            }
            _ => {}
        }
        self.out.put("\n");
        self.out.indent(lvl);
        self.out.put("}");
        match t.size_or_type() {
            1 => self.out.put(" __attribute__((mode(byte)))"),
            8 if self.ptr_size == 8 && fits_32 => self.out.put(" __attribute__((mode(word)))"),
            _ => {}
        }
        Ok(())
    }

    fn enumerator_start(&mut self, name: &str, lvl: usize) {
        self.out.put("\n");
        self.out.indent(lvl + 1);
        self.out.put(name);
        self.out.put(" = ");
    }

    /// A FWD as `struct NAME` or `union NAME`.
    pub fn fwd_def(&mut self, id: TypeId) -> Result<()> {
        let is_union = self.ty(id)?.kind_flag();
        let name = self.tag_name(id)?;
        self.out.put(if is_union { "union " } else { "struct " });
        self.out.put(&name);
        Ok(())
    }

    /// `typedef TARGET NAME`, without the final `;`.
    pub fn typedef_def(&mut self, id: TypeId, lvl: usize) -> Result<()> {
        let target = self.ty(id)?.size_or_type();
        let name = self.ident_name(id)?;
        // Old GCCs describe this one as a typedef of void, which does not compile.
        if target == 0 && name == "__gnuc_va_list" {
            self.out.put("typedef __builtin_va_list __gnuc_va_list");
            return Ok(());
        }
        self.out.put("typedef ");
        self.decl(target, &name, lvl)
    }

    /// For an INT named like one of [`MISSING_ALIASES`], a typedef to its standard equivalent.
    pub fn missing_alias(&mut self, id: TypeId) -> Result<()> {
        let name = self.tag_name(id)?;
        if let Some((_, standard)) = MISSING_ALIASES.iter().find(|(alias, _)| *alias == name) {
            self.out.fmt(format_args!("typedef {standard} {name};\n\n"));
        }
        Ok(())
    }
}
