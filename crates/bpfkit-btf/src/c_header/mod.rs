//! C header generation: parsed BTF printed as compilable C declarations, the `vmlinux.h` that BPF
//! programs include for CO-RE.
//!
//! The output is meant to be interchangeable with `bpftool btf dump file X format c` (libbpf's
//! BTF-to-C dumper driven by bpftool): the same prologue and epilogue, the same type order
//! (bpftool's default sorted order, or id order), the same forward declarations, the same
//! `___N` suffixes on colliding names, the same padding members and attributes, and the kfunc
//! prototypes bpftool appends. Programs written against a bpftool-made `vmlinux.h` therefore
//! compile unchanged against this one, names of renamed duplicates included.
//!
//! How the work is split:
//!
//! * `sort`: the order bpftool visits types in (rank, then names, then a structural hash).
//! * `order`: per visited type, which definitions must precede it in C (by-value uses) and
//!   which may be satisfied by a forward declaration (uses through pointers).
//! * `emit`: prints those definitions, with forward declarations where a type is referenced
//!   before it can be defined (cycles through pointers).
//! * `defs`: the text of one struct/union/enum/typedef definition.
//! * `decl`: C declarators (pointers, arrays, function pointers, qualifiers).
//! * `layout`: alignment, sizes, `packed` detection and the anonymous bitfields that pad a
//!   struct to the offsets BTF records.
//! * `names`: unique names for types and enumerators whose names collide.
//! * `kfuncs`: `extern ... __weak __ksym;` prototypes of kernel functions tagged `bpf_kfunc`.
//! * `state`: per-type bookkeeping shared by the above, and the output buffer.
//!
//! Every walk over the type graph is bounded, so corrupt BTF (a typedef that refers to itself,
//! a struct that contains itself by value) ends in a [`CHeaderError`], never a hang or a panic.
//!
//! # Differences from bpftool
//!
//! On Linux 6.18, Debian's 7.2 vmlinux and a module on it, the header is bpftool's (7.8, libbpf
//! 1.8) byte for byte but for two deliberate changes:
//!
//! * bpftool's sorted loop starts at the second sorted type (it means to skip void, which does
//!   not sort first), so the type that sorts first is never a starting point, and is missing
//!   from its header unless some other type refers to it. That is the anonymous enum with the
//!   alphabetically first enumerator (`enum { ACOMP_WALK_SLEEP = 1, ... }` on 6.18). Here it is
//!   printed like every other type.
//! * A module's own copy of the `__builtin_va_list` typedef is referred to as
//!   `__builtin_va_list___2` by bpftool, a name nothing defines, so its module headers do not
//!   compile; here every copy keeps the built-in's name.
//!
//! Like bpftool's, the header has no `__attribute__((aligned(N)))`: holes left by alignment are
//! filled with padding members, which gives every struct its BTF offsets and size, but not its
//! alignment when that is larger than its members'. And like bpftool's, `va_list` is the
//! compiler's: the kernel's (24 bytes on x86-64) is a pointer for `-target bpf`, so the few
//! structs holding one by value (`struct warn_args`) are smaller in the header than in the
//! kernel. The pointer size (for `long` padding and alignment) is
//! [`Btf::pointer_size`](crate::Btf::pointer_size), found from `long` as libbpf does.
//!
//! ```
//! use bpfkit_btf::{Btf, BtfBuilder, IntEncoding, MemberSpec};
//! use bpfkit_btf::c_header::{CHeaderOptions, to_c_header};
//! let mut b = BtfBuilder::new();
//! let int = b.add_int("int", 4, IntEncoding::SIGNED);
//! b.add_struct("point", 8, &[MemberSpec::new("x", int, 0), MemberSpec::new("y", int, 4)]);
//! let btf = Btf::parse(b.encode()?)?;
//! let header = to_c_header(&btf, &CHeaderOptions::default())?;
//! assert!(header.contains("struct point {\n\tint x;\n\tint y;\n};\n"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod decl;
mod defs;
mod emit;
mod kfuncs;
mod layout;
mod names;
mod order;
mod sort;
mod state;

use std::io;
use std::time::Instant;

use crate::TypeId;
use crate::btf::Btf;
use crate::error::BtfError;

use state::Dumper;

/// What to print besides the types, and in which order to visit them.
///
/// The defaults reproduce `bpftool btf dump file X format c`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CHeaderOptions {
    /// The include guard macro (`__VMLINUX_H__` by default). Must be a C identifier; it is
    /// printed as given.
    pub guard: String,
    /// Wrap the types in `#pragma clang attribute push (__attribute__((preserve_access_index)),
    /// apply_to = record)`, so every field access in a BPF program is a CO-RE relocation (the
    /// program then adapts to the layout of the kernel it is loaded into). Defining
    /// `BPF_NO_PRESERVE_ACCESS_INDEX` before including the header still turns it off.
    pub preserve_access_index: bool,
    /// Append `extern` prototypes of the kernel functions BPF programs may call (FUNCs tagged
    /// `bpf_kfunc`), as bpftool does; `BPF_NO_KFUNC_PROTOTYPES` hides them from C.
    pub kfunc_prototypes: bool,
    /// Visit types in bpftool's sorted order (its default) rather than by id (bpftool's
    /// `unsorted`). The sorted order keeps the header stable across kernel builds; it also
    /// decides which of several same-named types keeps the plain name.
    pub sorted: bool,
}

impl Default for CHeaderOptions {
    fn default() -> Self {
        CHeaderOptions {
            guard: "__VMLINUX_H__".to_owned(),
            preserve_access_index: true,
            kfunc_prototypes: true,
            sorted: true,
        }
    }
}

/// Why a header could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CHeaderError {
    /// The BTF is corrupt in a way the parser's validation cannot see: a reference cycle
    /// ([`BtfError::TooDeep`]), a name that is not UTF-8, a kind that cannot appear in a C
    /// declaration ([`BtfError::WrongKind`]).
    #[error(transparent)]
    Btf(#[from] BtfError),
    /// A type contains itself by value (directly, or through anonymous types and typedefs):
    /// no order of C definitions can express it, so the BTF is corrupt.
    #[error("type [{id}] contains itself by value; no C declaration order can express it")]
    Cycle {
        /// A type on the cycle.
        id: TypeId,
    },
    /// A struct has a hole so large that the padding members filling it would make the header
    /// absurdly big (corrupt offsets or sizes; kernel structs have holes of a few KiB at most).
    #[error("struct [{id}] has a {bits}-bit hole; refusing to pad it with anonymous bitfields")]
    HugePadding {
        /// The struct with the hole.
        id: TypeId,
        /// Size of the hole in bits.
        bits: u64,
    },
    /// Writing the output failed.
    #[error("writing the C header: {0}")]
    Io(#[from] io::Error),
}

/// Figures about one generated header, for logs and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CHeaderSummary {
    /// Top-level definitions printed: structs, unions, enums (anonymous ones included),
    /// typedefs and forward declarations of FWD types.
    pub definitions: usize,
    /// `struct X;` / `union X;` lines printed to break cycles through pointers.
    pub forward_declarations: usize,
    /// kfunc prototypes printed.
    pub kfuncs: usize,
    /// Bytes written.
    pub bytes: u64,
    /// Time spent, writing included.
    pub elapsed: std::time::Duration,
}

/// How much output is gathered before it is handed to the writer.
const FLUSH_AT: usize = 1 << 16;

/// Writes `btf` as a C header to `out`: every type from id 1 up (for split BTF the base's
/// types too, so that the header compiles alone), then the kfunc prototypes.
///
/// FUNC, VAR and DATASEC records are not declarations in the header (bpftool prints none
/// either), except for kfuncs as described in [`CHeaderOptions::kfunc_prototypes`]. Kinds
/// newer than this crate are skipped unless a printed type refers to them, which is an error.
///
/// The output is written in chunks as it is produced; an error may leave a partial header in
/// `out`.
pub fn write_c_header(
    btf: &Btf,
    options: &CHeaderOptions,
    out: &mut impl io::Write,
) -> Result<CHeaderSummary, CHeaderError> {
    let started = Instant::now();
    let mut d = Dumper::new(btf)?;
    let mut bytes = 0u64;
    let mut flush = |d: &mut Dumper<'_>, force: bool| -> io::Result<()> {
        if force || d.out.buf.len() >= FLUSH_AT {
            out.write_all(d.out.buf.as_bytes())?;
            bytes += d.out.buf.len() as u64;
            d.out.buf.clear();
        }
        Ok(())
    };
    prologue(&mut d, options);
    let roots = if options.sorted { sort::bpftool_order(btf)? } else { (1..btf.type_count()).collect() };
    for id in roots {
        d.dump_root(id)?;
        flush(&mut d, false)?;
    }
    if options.kfunc_prototypes {
        d.kfunc_prototypes()?;
    }
    epilogue(&mut d, options);
    flush(&mut d, true)?;
    out.flush()?;
    Ok(CHeaderSummary {
        definitions: d.stats.definitions,
        forward_declarations: d.stats.forward_declarations,
        kfuncs: d.stats.kfuncs,
        bytes,
        elapsed: started.elapsed(),
    })
}

/// [`write_c_header`] into a `String`: convenient for tests and small BTF.
pub fn to_c_header(btf: &Btf, options: &CHeaderOptions) -> Result<String, CHeaderError> {
    let mut out = Vec::new();
    write_c_header(btf, options, &mut out)?;
    // Names were checked to be UTF-8 when read, and everything else is ASCII.
    String::from_utf8(out).map_err(|e| CHeaderError::Io(io::Error::new(io::ErrorKind::InvalidData, e)))
}

/// The guard, the CO-RE pragma and the helper macros kfunc prototypes use.
fn prologue(d: &mut Dumper<'_>, options: &CHeaderOptions) {
    let guard = &options.guard;
    d.out.fmt(format_args!("#ifndef {guard}\n#define {guard}\n\n"));
    if options.preserve_access_index {
        d.out.put(concat!(
            "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n",
            "#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n",
            "#endif\n\n",
        ));
    }
    d.out.put(concat!(
        "#ifndef __ksym\n",
        "#define __ksym __attribute__((section(\".ksyms\")))\n",
        "#endif\n\n",
        "#ifndef __weak\n",
        "#define __weak __attribute__((weak))\n",
        "#endif\n\n",
        "#ifndef __bpf_fastcall\n",
        "#if __has_attribute(bpf_fastcall)\n",
        "#define __bpf_fastcall __attribute__((bpf_fastcall))\n",
        "#else\n",
        "#define __bpf_fastcall\n",
        "#endif\n",
        "#endif\n\n",
    ));
}

/// Closes what [`prologue`] opened.
fn epilogue(d: &mut Dumper<'_>, options: &CHeaderOptions) {
    if options.preserve_access_index {
        d.out.put("#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n");
    }
    d.out.fmt(format_args!("\n#endif /* {} */\n", options.guard));
}
