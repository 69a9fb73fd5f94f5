//! The generator's working state: what is known about each type id so far, the output buffer,
//! and the depth bound every recursive walk goes through.

use std::fmt;

use super::CHeaderError;
use super::layout::LayoutCache;
use super::names::Names;
use crate::TypeId;
use crate::btf::Btf;
use crate::error::BtfError;
use crate::kind::Kind;
use crate::types::{Type, TypeDetails};

/// Result type of the generator's internals.
pub(super) type Result<T> = std::result::Result<T, CHeaderError>;

/// Deepest recursion any walk may reach (by-value nesting, declarators inside declarators).
/// Real kernels stay far below it (Linux 6.18 and 7.2 need about 30 levels); corrupt cycles that
/// no state check catches (a pointer to itself) hit it quickly and end in `TooDeep`. Low enough
/// that the recursion fits in a 2 MiB thread stack.
pub(super) const MAX_DEPTH: u32 = 256;

/// Where a type is in the topological ordering of one root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Order {
    /// Not visited yet.
    Pending,
    /// On the current path: meeting it again is a cycle.
    Visiting,
    /// Its dependencies are queued; nothing more to do.
    Done,
}

/// Whether a type's definition has been printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Emit {
    /// Not printed (or, for a named struct referenced from inside another, not yet).
    Pending,
    /// Being printed: references to it now need a forward declaration.
    InProgress,
    /// Printed.
    Done,
}

/// Everything known about one type id.
#[derive(Debug, Clone, Copy)]
pub(super) struct TypeState {
    pub order: Order,
    pub emit: Emit,
    /// A forward declaration (or, for a typedef, its definition) was printed early.
    pub fwd_emitted: bool,
    /// Some other type refers to it (tells inline anonymous enums from top-level ones).
    pub referenced: bool,
}

/// Counters reported in [`super::CHeaderSummary`].
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Stats {
    pub definitions: usize,
    pub forward_declarations: usize,
    pub kfuncs: usize,
}

/// The text produced so far (handed to the writer in chunks by the driver).
#[derive(Debug, Default)]
pub(super) struct Out {
    pub buf: String,
}

impl Out {
    /// Appends text.
    pub fn put(&mut self, s: &str) {
        self.buf.push_str(s);
    }

    /// Appends formatted text.
    pub fn fmt(&mut self, args: fmt::Arguments<'_>) {
        // Formatting into a String cannot fail.
        let _ = fmt::Write::write_fmt(&mut self.buf, args);
    }

    /// Appends the indentation of nesting level `lvl` (tabs, at most 13 like libbpf).
    pub fn indent(&mut self, lvl: usize) {
        for _ in 0..lvl.min(13) {
            self.buf.push('\t');
        }
    }
}

/// The generator: BTF, per-type state and output.
pub(super) struct Dumper<'a> {
    pub btf: &'a Btf,
    pub ptr_size: u32,
    pub states: Vec<TypeState>,
    pub names: Names<'a>,
    pub layout: LayoutCache,
    pub out: Out,
    /// Named definitions the current root needs, in the order they must be printed.
    pub queue: Vec<TypeId>,
    pub stats: Stats,
    depth: u32,
}

impl<'a> Dumper<'a> {
    /// A generator for `btf` with every type's "is referenced" bit computed.
    pub fn new(btf: &'a Btf) -> Result<Dumper<'a>> {
        let count = btf.type_count() as usize;
        let fresh = TypeState { order: Order::Pending, emit: Emit::Pending, fwd_emitted: false, referenced: false };
        let mut states = vec![fresh; count];
        if let Some(void) = states.first_mut() {
            void.order = Order::Done;
            void.emit = Emit::Done;
        }
        let mut d = Dumper {
            btf,
            ptr_size: btf.pointer_size(),
            states,
            names: Names::new(count),
            layout: LayoutCache::new(count),
            out: Out::default(),
            queue: Vec::new(),
            stats: Stats::default(),
            depth: 0,
        };
        d.mark_referenced()?;
        Ok(d)
    }

    /// Sets the `referenced` bit of every type some other type points at.
    fn mark_referenced(&mut self) -> Result<()> {
        let btf = self.btf;
        for id in 1..btf.type_count() {
            let t = btf.type_by_id(id)?;
            let mut mark = |target: TypeId| {
                if let Some(s) = self.states.get_mut(target as usize) {
                    s.referenced = true;
                }
            };
            match t.details() {
                TypeDetails::Ptr(r)
                | TypeDetails::Typedef(r)
                | TypeDetails::Volatile(r)
                | TypeDetails::Const(r)
                | TypeDetails::Restrict(r)
                | TypeDetails::TypeTag(r)
                | TypeDetails::Func { proto: r, .. }
                | TypeDetails::Var { ty: r, .. }
                | TypeDetails::DeclTag { ty: r, .. } => mark(r),
                TypeDetails::Array(a) => {
                    mark(a.index_type);
                    mark(a.elem_type);
                }
                TypeDetails::Struct(members) | TypeDetails::Union(members) => members.for_each(|m| mark(m.ty)),
                // The return type does not count, as in libbpf.
                TypeDetails::FuncProto { params, .. } => params.for_each(|p| mark(p.ty)),
                TypeDetails::Datasec(vars) => vars.for_each(|v| mark(v.ty)),
                TypeDetails::Int(_)
                | TypeDetails::Enum(_)
                | TypeDetails::Enum64(_)
                | TypeDetails::Fwd { .. }
                | TypeDetails::Float
                | TypeDetails::Unknown { .. } => {}
            }
        }
        Ok(())
    }

    /// The type record of `id` (not void: callers handle id 0 first).
    pub fn ty(&self, id: TypeId) -> Result<Type<'a>> {
        Ok(self.btf.type_by_id(id)?)
    }

    /// The kind of `id`, `None` for void.
    pub fn kind(&self, id: TypeId) -> Result<Option<Kind>> {
        if id == 0 { Ok(None) } else { Ok(Some(self.ty(id)?.kind())) }
    }

    /// Mutable state of `id` (ids come from validated records, so they are in range; an
    /// out-of-range id would be reported by `ty` first).
    pub fn state(&mut self, id: TypeId) -> Result<&mut TypeState> {
        let end = self.btf.type_count();
        self.states.get_mut(id as usize).ok_or(CHeaderError::Btf(BtfError::IdOutOfRange { id, end }))
    }

    /// Copy of the state of `id`.
    pub fn state_of(&self, id: TypeId) -> Result<TypeState> {
        let end = self.btf.type_count();
        self.states.get(id as usize).copied().ok_or(CHeaderError::Btf(BtfError::IdOutOfRange { id, end }))
    }

    /// Runs `f` one level deeper, failing with `TooDeep` past [`MAX_DEPTH`].
    pub fn nested<T>(&mut self, id: TypeId, what: &'static str, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        if self.depth >= MAX_DEPTH {
            return Err(BtfError::TooDeep { id, limit: MAX_DEPTH, what }.into());
        }
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        result
    }
}
