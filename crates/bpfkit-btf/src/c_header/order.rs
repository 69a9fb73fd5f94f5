//! Definition order: which named definitions a type needs printed before it, found by a
//! depth-first walk that tells *strong* dependencies from *weak* ones.
//!
//! C needs a type complete where it is used by value (a struct member, an array element): its
//! definition must come first. Through a pointer, an incomplete type will do, so a forward
//! declaration (`struct foo;`) suffices and cycles such as `struct A { struct B *b; }; struct
//! B { struct A a; };` can be printed. A dependency is weak when the path to it crosses a
//! pointer and then reaches a named type; anonymous types are printed inline, so whatever they
//! contain by value is a strong dependency even behind a pointer.
//!
//! The walk queues named definitions (structs, unions, enums, typedefs, FWDs, and anonymous
//! enums nothing refers to, which hold constants) after everything they strongly depend on.
//! Meeting a type again while its members are still being walked is fine through a pointer to
//! a named struct (a forward declaration breaks the cycle) and an error otherwise: the type
//! would contain itself.

use super::CHeaderError;
use super::state::{Dumper, Order, Result};
use crate::TypeId;
use crate::types::TypeDetails;

impl Dumper<'_> {
    /// Queues what `id` needs, reached through a pointer or not; returns whether the link to
    /// it is strong (the user needs it complete).
    pub fn order(&mut self, id: TypeId, through_ptr: bool) -> Result<bool> {
        let state = self.state_of(id)?;
        if state.order == Order::Done {
            // Typedefs take this to mean that their target is available.
            return Ok(true);
        }
        let t = self.ty(id)?;
        let named = t.name_offset() != 0;
        if state.order == Order::Visiting {
            if t.is_composite() && through_ptr && named {
                return Ok(false);
            }
            return Err(CHeaderError::Cycle { id });
        }
        self.nested(id, "type ordering", |d| {
            let done = |d: &mut Dumper<'_>| d.state(id).map(|s| s.order = Order::Done);
            match t.details() {
                TypeDetails::Int(_) | TypeDetails::Float => {
                    done(d)?;
                    Ok(false)
                }
                TypeDetails::Ptr(target) => {
                    let strong = d.order(target, true)?;
                    done(d)?;
                    Ok(strong)
                }
                TypeDetails::Array(a) => d.order(a.elem_type, false),
                TypeDetails::Struct(members) | TypeDetails::Union(members) => {
                    // A named struct behind a pointer can be declared, not defined.
                    if through_ptr && named {
                        return Ok(false);
                    }
                    d.state(id)?.order = Order::Visiting;
                    for m in members {
                        d.order(m.ty, false)?;
                    }
                    if named {
                        d.queue.push(id);
                    }
                    done(d)?;
                    Ok(true)
                }
                TypeDetails::Enum(_) | TypeDetails::Enum64(_) | TypeDetails::Fwd { .. } => {
                    if named || !d.state_of(id)?.referenced {
                        d.queue.push(id);
                    }
                    done(d)?;
                    Ok(true)
                }
                TypeDetails::Typedef(target) => {
                    let strong = d.order(target, through_ptr)?;
                    // Like a struct: behind a pointer, a typedef of something incomplete can
                    // wait until it is needed by value.
                    if through_ptr && !strong {
                        return Ok(false);
                    }
                    d.queue.push(id);
                    done(d)?;
                    Ok(true)
                }
                TypeDetails::Volatile(r)
                | TypeDetails::Const(r)
                | TypeDetails::Restrict(r)
                | TypeDetails::TypeTag(r) => d.order(r, through_ptr),
                TypeDetails::FuncProto { ret, params } => {
                    let mut strong = d.order(ret, through_ptr)?;
                    for p in params {
                        strong |= d.order(p.ty, through_ptr)?;
                    }
                    Ok(strong)
                }
                TypeDetails::Func { .. }
                | TypeDetails::Var { .. }
                | TypeDetails::Datasec(_)
                | TypeDetails::DeclTag { .. }
                | TypeDetails::Unknown { .. } => {
                    done(d)?;
                    Ok(false)
                }
            }
        })
    }

    /// Prints root `id` and everything it needs that is not printed yet.
    pub fn dump_root(&mut self, id: TypeId) -> Result<()> {
        self.queue.clear();
        self.order(id, false)?;
        let queue = std::mem::take(&mut self.queue);
        for &queued in &queue {
            self.emit(queued, 0)?;
        }
        self.queue = queue;
        Ok(())
    }
}
