//! Printing queued definitions, with the forward declarations their members need.
//!
//! Before a top-level definition is printed, every type its members mention is visited with
//! the definition as "container": named structs not printed yet get a forward declaration,
//! anonymous types are looked into (they will be printed inline), typedefs are printed first.
//! A struct met again while it is being printed needs a forward declaration unless it is the
//! container itself (a self-referential list node); a typedef met again is printed right away,
//! which is fine for the pointer uses that can reach it that way.

use super::names::is_builtin;
use super::state::{Dumper, Emit, Result};
use crate::TypeId;
use crate::types::TypeDetails;

impl Dumper<'_> {
    /// Visits `id` on behalf of container `cont` (0 = `id` is itself a top-level definition).
    pub fn emit(&mut self, id: TypeId, cont: TypeId) -> Result<()> {
        let state = self.state_of(id)?;
        if state.emit == Emit::Done {
            return Ok(());
        }
        let t = self.ty(id)?;
        let top_level = cont == 0;
        let named = t.name_offset() != 0;
        if state.emit == Emit::InProgress {
            if state.fwd_emitted {
                return Ok(());
            }
            match t.details() {
                TypeDetails::Struct(_) | TypeDetails::Union(_) => {
                    // Inside its own definition, or an anonymous type reached again through a
                    // pointer (corrupt: ordering rejects it before printing starts).
                    if id == cont || !named {
                        return Ok(());
                    }
                    self.struct_fwd(id)?;
                    self.out.put(";\n\n");
                    self.stats.forward_declarations += 1;
                    self.state(id)?.fwd_emitted = true;
                }
                TypeDetails::Typedef(_) => {
                    if !is_builtin(t.name()?) {
                        self.typedef_def(id, 0)?;
                        self.out.put(";\n\n");
                        self.stats.definitions += 1;
                    }
                    self.state(id)?.fwd_emitted = true;
                }
                _ => {}
            }
            return Ok(());
        }
        self.nested(id, "type emission", |d| {
            match t.details() {
                TypeDetails::Int(_) => {
                    d.missing_alias(id)?;
                    d.state(id)?.emit = Emit::Done;
                }
                TypeDetails::Enum(_) | TypeDetails::Enum64(_) => {
                    if top_level {
                        d.enum_def(id, 0)?;
                        d.out.put(";\n\n");
                        d.stats.definitions += 1;
                    }
                    d.state(id)?.emit = Emit::Done;
                }
                TypeDetails::Ptr(r)
                | TypeDetails::Volatile(r)
                | TypeDetails::Const(r)
                | TypeDetails::Restrict(r)
                | TypeDetails::TypeTag(r) => d.emit(r, cont)?,
                TypeDetails::Array(a) => d.emit(a.elem_type, cont)?,
                TypeDetails::Fwd { .. } => {
                    d.fwd_def(id)?;
                    d.out.put(";\n\n");
                    d.stats.definitions += 1;
                    d.state(id)?.emit = Emit::Done;
                }
                TypeDetails::Typedef(target) => {
                    d.state(id)?.emit = Emit::InProgress;
                    d.emit(target, id)?;
                    // A pointer use inside the target may have printed it already.
                    if !d.state_of(id)?.fwd_emitted && !is_builtin(t.name()?) {
                        d.typedef_def(id, 0)?;
                        d.out.put(";\n\n");
                        d.stats.definitions += 1;
                    }
                    d.state(id)?.emit = Emit::Done;
                }
                TypeDetails::Struct(members) | TypeDetails::Union(members) => {
                    d.state(id)?.emit = Emit::InProgress;
                    if top_level || !named {
                        // Members will be printed (here, or inline in the container).
                        let member_cont = if named { id } else { cont };
                        for m in members {
                            d.emit(m.ty, member_cont)?;
                        }
                    } else if !state.fwd_emitted && id != cont {
                        d.struct_fwd(id)?;
                        d.out.put(";\n\n");
                        d.stats.forward_declarations += 1;
                        d.state(id)?.fwd_emitted = true;
                    }
                    if top_level {
                        d.struct_def(id, 0)?;
                        d.out.put(";\n\n");
                        d.stats.definitions += 1;
                        d.state(id)?.emit = Emit::Done;
                    } else {
                        d.state(id)?.emit = Emit::Pending;
                    }
                }
                TypeDetails::FuncProto { ret, params } => {
                    d.emit(ret, cont)?;
                    for p in params {
                        d.emit(p.ty, cont)?;
                    }
                }
                _ => {}
            }
            Ok(())
        })
    }
}
