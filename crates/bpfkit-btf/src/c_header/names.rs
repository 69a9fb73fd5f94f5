//! Unique C names for types whose BTF names collide.
//!
//! vmlinux BTF holds several different types with the same name (two `struct foo` from two
//! compilation units that disagree, an enumerator named like a typedef). C cannot, so every
//! occurrence after the first of a name in a namespace is printed with a `___N` suffix (`N`
//! = 2, 3, ...), which CO-RE ignores when matching names against the kernel. The suffix is
//! decided the first time a type's name is needed, so it depends on the visiting order; that
//! order is bpftool's, which makes the suffixes bpftool's too.
//!
//! There are two namespaces, as in C: tags (struct, union and enum names; INT names are
//! counted here too, as libbpf does) and ordinary identifiers (typedef names and enumerators).
//! Forward declarations and empty enums keep their names: they declare, rather than define,
//! a type, and never collide with its definition.
//!
//! Compiler built-ins (`__builtin_va_list`) are never defined (see [`is_builtin`]) and keep
//! their names too. libbpf counts them like other typedefs, so where split BTF repeats the
//! typedef (a module's own copy), bpftool's header refers to an undefined
//! `__builtin_va_list___2` and does not compile; this one does.

use std::borrow::Cow;
use std::collections::HashMap;

use super::state::{Dumper, Result};
use crate::TypeId;
use crate::kind::Kind;

/// Which namespace a name lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Namespace {
    /// struct/union/enum tags.
    Tag,
    /// typedef names and enumerators.
    Ident,
}

/// Name bookkeeping: how often each name was taken, and each type's final name.
pub(super) struct Names<'a> {
    /// The name chosen for each type id, once chosen.
    chosen: Vec<Option<Cow<'a, str>>>,
    tags: HashMap<&'a str, usize>,
    idents: HashMap<&'a str, usize>,
}

impl<'a> Names<'a> {
    /// Bookkeeping for `count` type ids.
    pub fn new(count: usize) -> Names<'a> {
        Names { chosen: vec![None; count], tags: HashMap::new(), idents: HashMap::new() }
    }

    /// Counts one more use of `name` in `ns` and returns how many there are now (1 = first).
    pub fn take(&mut self, ns: Namespace, name: &'a str) -> usize {
        let map = match ns {
            Namespace::Tag => &mut self.tags,
            Namespace::Ident => &mut self.idents,
        };
        let count = map.entry(name).or_insert(0);
        *count += 1;
        *count
    }
}

/// Whether `name` is a compiler built-in that the kernel's BTF describes as a typedef. It must
/// not be defined again (the definition is the kernel compiler's, not the one the header is
/// compiled with), nor renamed: every copy refers to the built-in.
pub(super) fn is_builtin(name: &str) -> bool {
    name == "__builtin_va_list"
}

/// `name` as the `n`-th holder of it prints it.
pub(super) fn suffixed(name: &str, n: usize) -> Cow<'_, str> {
    if n > 1 { Cow::Owned(format!("{name}___{n}")) } else { Cow::Borrowed(name) }
}

impl<'a> Dumper<'a> {
    /// The name a struct, union, enum (or INT, FWD) is printed with; `""` when anonymous.
    pub fn tag_name(&mut self, id: TypeId) -> Result<Cow<'a, str>> {
        self.unique_name(id, Namespace::Tag)
    }

    /// The name a typedef is printed with.
    pub fn ident_name(&mut self, id: TypeId) -> Result<Cow<'a, str>> {
        self.unique_name(id, Namespace::Ident)
    }

    fn unique_name(&mut self, id: TypeId, ns: Namespace) -> Result<Cow<'a, str>> {
        let t = self.ty(id)?;
        if t.name_offset() == 0 {
            return Ok(Cow::Borrowed(""));
        }
        if let Some(Some(name)) = self.names.chosen.get(id as usize) {
            return Ok(name.clone());
        }
        let name = t.name()?;
        let declares_only = t.kind() == Kind::Fwd || (t.kind() == Kind::Enum && t.vlen() == 0);
        let chosen = if declares_only || is_builtin(name) {
            Cow::Borrowed(name)
        } else {
            suffixed(name, self.names.take(ns, name))
        };
        if let Some(slot) = self.names.chosen.get_mut(id as usize) {
            *slot = Some(chosen.clone());
        }
        Ok(chosen)
    }

    /// The name the next printed enumerator called `name` gets. Each printing counts, so an
    /// anonymous enum printed twice (inline in two places) gets suffixes the second time.
    pub fn enumerator_name(&mut self, name: &'a str) -> Cow<'a, str> {
        let n = self.names.take(Namespace::Ident, name);
        suffixed(name, n)
    }
}
