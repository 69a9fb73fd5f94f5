//! `bpfkit btf dump`: the selected types, streamed as bpftool-style text or as one JSON array.

use std::io::Write;

use bpfkit_btf::{Btf, Type, TypeId};

use super::{json, text};
use crate::error::CliError;

/// Which types to print.
pub enum Selection {
    /// Every own type, in id order (for split BTF, not the base's).
    Own,
    /// These ids, in this order (validated).
    Ids(Vec<TypeId>),
}

impl Selection {
    /// `--id` (a base type too, for split BTF), `--name` (every match, bases first), or all own
    /// types. An id or a name that matches nothing is an error.
    pub fn new(btf: &Btf, id: Option<TypeId>, name: Option<&str>) -> Result<Selection, CliError> {
        match (id, name) {
            (Some(id), _) => match btf.owner_of(id) {
                Some(_) => Ok(Selection::Ids(vec![id])),
                None => Err(CliError::NoSuchId { id, type_count: btf.type_count() }),
            },
            (None, Some(name)) => match btf.find_all_by_name(name) {
                ids if ids.is_empty() => Err(CliError::NoSuchName(name.to_string())),
                ids => Ok(Selection::Ids(ids)),
            },
            (None, None) => Ok(Selection::Own),
        }
    }
}

/// Output format.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// bpftool's `format raw`.
    Text,
    /// `[` + one object per line, comma-separated + `]`.
    Json,
}

/// Prints the selected types to `out` as they are read (nothing is collected first).
pub fn print(btf: &Btf, selection: &Selection, format: Format, out: &mut impl Write) -> Result<(), CliError> {
    let mut printer = Printer { btf, format, out, count: 0 };
    match selection {
        Selection::Own => {
            for ty in btf.types() {
                printer.print(&ty)?;
            }
        }
        Selection::Ids(ids) => {
            for &id in ids {
                printer.print(&btf.type_by_id(id)?)?;
            }
        }
    }
    printer.finish()
}

/// Writes types one after the other, framing them as a JSON array when asked to.
struct Printer<'a, W> {
    btf: &'a Btf,
    format: Format,
    out: &'a mut W,
    count: usize,
}

impl<W: Write> Printer<'_, W> {
    fn print(&mut self, ty: &Type<'_>) -> Result<(), CliError> {
        match self.format {
            Format::Text => text::write_type(self.out, self.btf, ty)?,
            Format::Json => {
                self.out.write_all(if self.count == 0 { b"[\n" } else { b",\n" })?;
                json::write_type(self.out, self.btf, ty)?;
            }
        }
        self.count += 1;
        Ok(())
    }

    fn finish(self) -> Result<(), CliError> {
        if self.format == Format::Json {
            self.out.write_all(if self.count == 0 { b"[]\n" } else { b"\n]\n" })?;
        }
        Ok(())
    }
}
