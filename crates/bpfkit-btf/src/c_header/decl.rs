//! C declarators: a BTF reference chain printed as a declaration of `name`.
//!
//! BTF stores `const char *const argv[4]` as ARRAY -> CONST -> PTR -> CONST -> INT, outermost
//! first; C writes the innermost type first, qualifiers of pointers after the `*`, array
//! bounds and parameter lists after the name, and parentheses where a pointer applies to an
//! array or a function (`int (*fn)(int)`, `char (*rows)[16]`). The chain is collected up to
//! its base type (a named type, void, or an anonymous type printed inline), then printed from
//! the base outwards:
//!
//! * qualifiers right above the base are printed before it (`const int`), the others after
//!   the pointer they qualify (`int * const`);
//! * an array or function prototype ends the walk: what lies above it (towards the name)
//!   is printed inside parentheses first, then `[N]` or the parameter list. Consecutive
//!   arrays need no parentheses (`int m[2][3]`);
//! * qualifiers directly on arrays and prototypes are dropped (GCC copies element qualifiers
//!   onto arrays and marks `noreturn` function pointers volatile; neither means anything).

use super::state::{Dumper, Result};
use crate::TypeId;
use crate::error::BtfError;
use crate::kind::Kind;
use crate::types::TypeDetails;

/// Longest reference chain in one declarator (pointers, qualifiers, array dimensions).
const MAX_CHAIN: usize = 256;

impl Dumper<'_> {
    /// Prints a declaration of `name` (may be empty: abstract declarator) with type `id`;
    /// nested anonymous types are printed inline at indentation level `lvl`.
    pub fn decl(&mut self, id: TypeId, name: &str, lvl: usize) -> Result<()> {
        self.nested(id, "nested declarations", |d| {
            let mut chain = d.collect_chain(id)?;
            d.print_chain(&mut chain, name, lvl)
        })
    }

    /// The chain from `id` down to its base type, outermost first.
    fn collect_chain(&self, mut id: TypeId) -> Result<Vec<TypeId>> {
        let mut chain = Vec::new();
        loop {
            if chain.len() >= MAX_CHAIN {
                return Err(BtfError::TooDeep { id, limit: MAX_CHAIN as u32, what: "declarator chain" }.into());
            }
            chain.push(id);
            if id == 0 {
                return Ok(chain);
            }
            id = match self.ty(id)?.details() {
                TypeDetails::Ptr(r)
                | TypeDetails::Volatile(r)
                | TypeDetails::Const(r)
                | TypeDetails::Restrict(r)
                | TypeDetails::TypeTag(r)
                | TypeDetails::FuncProto { ret: r, .. } => r,
                TypeDetails::Array(a) => a.elem_type,
                // Base types, and kinds that cannot be in a declaration (reported when printed).
                _ => return Ok(chain),
            };
        }
    }

    /// Prints the qualifiers at the top of `chain` (those right above the base) prefix-style.
    fn prefix_qualifiers(&mut self, chain: &mut Vec<TypeId>) -> Result<()> {
        while let Some(&id) = chain.last() {
            let word = match self.kind(id)? {
                Some(Kind::Volatile) => "volatile ",
                Some(Kind::Const) => "const ",
                Some(Kind::Restrict) => "restrict ",
                _ => return Ok(()),
            };
            self.out.put(word);
            chain.pop();
        }
        Ok(())
    }

    /// Drops the qualifiers and type tags at the top of `chain`.
    fn drop_qualifiers(&mut self, chain: &mut Vec<TypeId>) -> Result<()> {
        while let Some(&id) = chain.last() {
            match self.kind(id)? {
                Some(kind) if kind.is_modifier() => {
                    chain.pop();
                }
                _ => return Ok(()),
            }
        }
        Ok(())
    }

    /// The declared name, separated from what precedes it unless that is a `*`.
    fn declared_name(&mut self, name: &str, after_ptr: bool) {
        if !name.is_empty() && !after_ptr {
            self.out.put(" ");
        }
        self.out.put(name);
    }

    /// Prints `chain` (consumed from its end, the base) as a declaration of `name`.
    fn print_chain(&mut self, chain: &mut Vec<TypeId>, name: &str, lvl: usize) -> Result<()> {
        // `*` follows a `*` or an opening parenthesis without a space: `int **p`, `(*fn)`.
        let mut after_ptr = true;
        while let Some(id) = chain.pop() {
            if id == 0 {
                self.prefix_qualifiers(chain)?;
                self.out.put("void");
                after_ptr = false;
                continue;
            }
            let t = self.ty(id)?;
            let kind = t.kind();
            match t.details() {
                TypeDetails::Int(_) | TypeDetails::Float => {
                    self.prefix_qualifiers(chain)?;
                    self.out.put(t.name()?);
                }
                TypeDetails::Struct(_) | TypeDetails::Union(_) => {
                    self.prefix_qualifiers(chain)?;
                    if t.name_offset() == 0 {
                        self.struct_def(id, lvl)?;
                    } else {
                        self.struct_fwd(id)?;
                    }
                }
                TypeDetails::Enum(_) | TypeDetails::Enum64(_) => {
                    self.prefix_qualifiers(chain)?;
                    if t.name_offset() == 0 {
                        self.enum_def(id, lvl)?;
                    } else {
                        self.enum_fwd(id)?;
                    }
                }
                TypeDetails::Fwd { .. } => {
                    self.prefix_qualifiers(chain)?;
                    self.fwd_def(id)?;
                }
                TypeDetails::Typedef(_) => {
                    self.prefix_qualifiers(chain)?;
                    let typedef = self.ident_name(id)?;
                    self.out.put(&typedef);
                }
                TypeDetails::Ptr(_) => self.out.put(if after_ptr { "*" } else { " *" }),
                TypeDetails::Volatile(_) => self.out.put(" volatile"),
                TypeDetails::Const(_) => self.out.put(" const"),
                TypeDetails::Restrict(_) => self.out.put(" restrict"),
                TypeDetails::TypeTag(_) => {
                    self.prefix_qualifiers(chain)?;
                    let tag = t.name()?;
                    // With kind_flag the tag is a plain attribute, else a btf_type_tag.
                    if t.kind_flag() {
                        self.out.fmt(format_args!(" __attribute__(({tag}))"));
                    } else {
                        self.out.fmt(format_args!(" __attribute__((btf_type_tag(\"{tag}\")))"));
                    }
                }
                TypeDetails::Array(a) => {
                    self.drop_qualifiers(chain)?;
                    let Some(&outer) = chain.last() else {
                        self.declared_name(name, after_ptr);
                        self.out.fmt(format_args!("[{}]", a.nelems));
                        return Ok(());
                    };
                    let multi_dim = self.kind(outer)? == Some(Kind::Array);
                    if !name.is_empty() && !after_ptr {
                        self.out.put(" ");
                    }
                    if !multi_dim {
                        self.out.put("(");
                    }
                    self.print_chain(chain, name, lvl)?;
                    if !multi_dim {
                        self.out.put(")");
                    }
                    self.out.fmt(format_args!("[{}]", a.nelems));
                    return Ok(());
                }
                TypeDetails::FuncProto { params, .. } => {
                    self.drop_qualifiers(chain)?;
                    if chain.is_empty() {
                        self.declared_name(name, after_ptr);
                    } else {
                        self.out.put(" (");
                        self.print_chain(chain, name, lvl)?;
                        self.out.put(")");
                    }
                    self.out.put("(");
                    let count = params.total_len();
                    // No parameters, or clang's single `void` one: `(void)`.
                    if count == 0 || (count == 1 && params.get(0).is_some_and(|p| p.ty == 0)) {
                        self.out.put("void)");
                        return Ok(());
                    }
                    for (i, p) in params.enumerate() {
                        if i > 0 {
                            self.out.put(", ");
                        }
                        // A trailing void parameter stands for `...`.
                        if i + 1 == count && p.ty == 0 {
                            self.out.put("...");
                            break;
                        }
                        let param = self.btf.str_at(p.name_off)?;
                        self.decl(p.ty, param, lvl)?;
                    }
                    self.out.put(")");
                    return Ok(());
                }
                _ => {
                    return Err(BtfError::WrongKind {
                        id,
                        found: Some(kind),
                        expected: "a type usable in a declaration",
                    }
                    .into());
                }
            }
            after_ptr = kind == Kind::Ptr;
        }
        self.declared_name(name, after_ptr);
        Ok(())
    }
}
