//! Subprogram linking: the kernel loads one instruction stream per program, so every function a
//! program calls (bpf-to-bpf calls and callback addresses, in `.text` or in its own section) is
//! appended after it, once, and each call's relative offset is rewritten for the new layout.
//! Relocations and `.BTF.ext` records of every appended function follow it.

use crate::btf_ext::{CoreRelo, ExtSection, FuncInfo, LineInfo};
use crate::error::{ObjError, Result};
use crate::insn::{Insn, PSEUDO_FUNC};
use crate::object::Object;
use crate::program::LinkedProgram;
use crate::reloc::{InsnReloc, RelocTarget};

/// A function symbol in a code section.
#[derive(Debug, Clone)]
pub(crate) struct Func {
    pub name: String,
    /// First instruction index in the section.
    pub start: usize,
    /// Number of instructions.
    pub len: usize,
    pub global: bool,
}

/// A relocation of a code section, before linking.
#[derive(Debug, Clone)]
pub(crate) enum RawReloc {
    /// Resolved without linking (maps, data, externs).
    Target(RelocTarget),
    /// A call into code section `section` at instruction `insn` of that section.
    Call { section: usize, insn: usize },
    /// A callback address (`ld_imm64` of a function).
    FuncAddr { section: usize, insn: usize },
}

/// One executable section of the object.
#[derive(Debug, Clone)]
pub(crate) struct CodeSection {
    pub name: String,
    pub insns: Vec<Insn>,
    /// Sorted by start, non-overlapping.
    pub funcs: Vec<Func>,
    /// By instruction index in the section, sorted, one per instruction.
    pub relocs: Vec<(usize, RawReloc)>,
    /// Indexes of the bpf-to-bpf calls, sorted: with `relocs`, the only instructions linking
    /// looks at (a section is walked once per program that calls into it).
    pub calls: Vec<usize>,
}

impl CodeSection {
    /// A code section, its bpf-to-bpf calls found.
    pub fn new(name: String, insns: Vec<Insn>, funcs: Vec<Func>, relocs: Vec<(usize, RawReloc)>) -> CodeSection {
        let mut calls = Vec::new();
        for (at, insn) in insns.iter().enumerate() {
            if insn.is_pseudo_call() {
                calls.push(at);
            }
        }
        CodeSection { name, insns, funcs, relocs, calls }
    }

    /// The bpf-to-bpf calls among the instructions in `range`.
    fn calls_in(&self, range: std::ops::Range<usize>) -> &[usize] {
        let start = self.calls.partition_point(|&at| at < range.start);
        let end = self.calls.partition_point(|&at| at < range.end);
        &self.calls[start..end.max(start)]
    }

    /// The instructions of `range` that linking acts on, in ascending order: each relocated one
    /// with its relocation, and each bpf-to-bpf call that has none (a call within its section
    /// needs none: its offset is already relative). One merge of the two sorted lists.
    fn links_in(&self, range: std::ops::Range<usize>) -> impl Iterator<Item = (usize, Option<&RawReloc>)> + '_ {
        let (relocs, calls) = (self.relocs_in(range.clone()), self.calls_in(range));
        let (mut r, mut c) = (0, 0);
        std::iter::from_fn(move || {
            let at = match (relocs.get(r), calls.get(c)) {
                (None, None) => return None,
                (Some((at, _)), None) => *at,
                (None, Some(&call)) => call,
                (Some((at, _)), Some(&call)) => (*at).min(call),
            };
            let reloc = match relocs.get(r) {
                Some((reloc_at, reloc)) if *reloc_at == at => {
                    r += 1;
                    Some(reloc)
                }
                _ => None,
            };
            if calls.get(c) == Some(&at) {
                c += 1;
            }
            Some((at, reloc))
        })
    }

    /// The relocations of the instructions in `range`.
    fn relocs_in(&self, range: std::ops::Range<usize>) -> &[(usize, RawReloc)] {
        let start = self.relocs.partition_point(|(at, _)| *at < range.start);
        let end = self.relocs.partition_point(|(at, _)| *at < range.end);
        &self.relocs[start..end.max(start)]
    }

    /// The function containing instruction `insn`.
    fn func_at(&self, insn: usize) -> Option<usize> {
        let i = self.funcs.partition_point(|f| f.start <= insn).checked_sub(1)?;
        (insn < self.funcs[i].start + self.funcs[i].len).then_some(i)
    }
}

/// A function copied into the program: where it came from and where it went.
struct Chunk {
    section: usize,
    /// Index of the function in its section.
    func: usize,
    orig_start: usize,
    new_start: usize,
    len: usize,
}

/// Links the program whose function is `func` of code section `section`. `ext` gives the
/// `.BTF.ext` records of each code section.
fn link(sections: &[CodeSection], section: usize, func: usize, ext: &[Option<ExtSection>]) -> Result<LinkedProgram> {
    let program = &sections[section].funcs[func].name;
    let mut out = LinkedProgram {
        name: program.clone(),
        relocs: Vec::with_capacity(sections[section].relocs.len()),
        functions: Vec::with_capacity(2),
        ..LinkedProgram::default()
    };
    // Functions copied so far; a program calls a few, so a list beats a map.
    let mut chunks: Vec<Chunk> = Vec::with_capacity(4);
    append(sections, section, func, &mut out, &mut chunks, ext);

    // Chunk by chunk (appending adds chunks to walk), visiting only relocated instructions and
    // calls.
    let mut chunk = 0;
    while let Some(&Chunk { section: sec, orig_start, new_start, len, .. }) = chunks.get(chunk) {
        chunk += 1;
        for (orig, reloc) in sections[sec].links_in(orig_start..orig_start + len) {
            let j = new_start + (orig - orig_start);
            link_insn(sections, sec, orig, j, reloc, program, &mut out, &mut chunks, ext)?;
        }
    }
    Ok(out)
}

/// Rewrites instruction `j` of the program (instruction `orig` of section `sec`, with its
/// relocation, if any) when it calls or takes the address of a function, appending the function
/// if it is not in the program yet.
#[allow(clippy::too_many_arguments)]
fn link_insn(
    sections: &[CodeSection],
    sec: usize,
    orig: usize,
    j: usize,
    reloc: Option<&RawReloc>,
    program: &str,
    out: &mut LinkedProgram,
    chunks: &mut Vec<Chunk>,
    ext: &[Option<ExtSection>],
) -> Result<()> {
    if let Some(Callee { section: target_sec, func: f, insn: target_insn, is_addr }) =
        callee(sections, sec, orig, reloc, program)?
    {
        let code = &sections[target_sec];
        let c = match chunks.iter().position(|c| (c.section, c.func) == (target_sec, f)) {
            Some(c) => c,
            None => append(sections, target_sec, f, out, chunks, ext),
        };
        let new_target = chunks[c].new_start + (target_insn - code.funcs[f].start);
        let rel = i32::try_from(new_target as i64 - j as i64 - 1)
            .map_err(|_| ObjError::program(program, "linked program too large for a call offset"))?;
        let slot = &mut out.insns[j];
        slot.imm = rel;
        if is_addr {
            slot.set_src(PSEUDO_FUNC);
        } else {
            slot.set_src(crate::insn::PSEUDO_CALL);
        }
    }
    Ok(())
}

/// What a call or function address at one instruction leads to.
struct Callee {
    section: usize,
    /// Index of the function in its section.
    func: usize,
    /// The instruction it targets in that section.
    insn: usize,
    /// A callback address (`ld_imm64`) rather than a call.
    is_addr: bool,
}

/// The function instruction `orig` of section `sec` calls or takes the address of, if it does
/// (`reloc`: its relocation). `program` names the program for errors.
fn callee(
    sections: &[CodeSection],
    sec: usize,
    orig: usize,
    reloc: Option<&RawReloc>,
    program: &str,
) -> Result<Option<Callee>> {
    let (target_sec, target_insn, is_addr) = match reloc {
        Some(RawReloc::Call { section, insn }) => (*section, *insn, false),
        Some(RawReloc::FuncAddr { section, insn }) => (*section, *insn, true),
        Some(RawReloc::Target(_)) => return Ok(None),
        // A call within the section needs no relocation: its offset is already relative.
        None => {
            let Some(insn) = sections[sec].insns.get(orig).filter(|i| i.is_pseudo_call()) else { return Ok(None) };
            let target = (orig as i64) + 1 + insn.imm as i64;
            let target = usize::try_from(target).ok().filter(|&t| t < sections[sec].insns.len()).ok_or_else(|| {
                ObjError::program(
                    program,
                    format!("call at instruction {orig} of {} jumps outside the section", sections[sec].name),
                )
            })?;
            (sec, target, false)
        }
    };
    let code = sections.get(target_sec).ok_or_else(|| {
        ObjError::program(
            program,
            format!("call at instruction {orig} of {}: no such code section", sections[sec].name),
        )
    })?;
    let func = code.func_at(target_insn).ok_or_else(|| {
        ObjError::program(
            program,
            format!(
                "call at instruction {orig} of {}: no function at instruction {target_insn} of {}",
                sections[sec].name, code.name
            ),
        )
    })?;
    Ok(Some(Callee { section: target_sec, func, insn: target_insn, is_addr }))
}

/// Checks every call and function address of every section once, so that a broken call is an
/// error at open, as when programs were linked there; linking at load then only lays out.
pub(crate) fn check_calls(sections: &[CodeSection]) -> Result<()> {
    for (sec, code) in sections.iter().enumerate() {
        for (at, reloc) in code.links_in(0..code.insns.len()) {
            let owner = code.func_at(at).map_or(code.name.as_str(), |f| code.funcs[f].name.as_str());
            callee(sections, sec, at, reloc, owner)?;
        }
    }
    Ok(())
}

/// Every function program `func` of section `section` runs: itself first, then what it calls
/// or takes the address of, directly or not, each once.
fn reachable(sections: &[CodeSection], section: usize, func: usize) -> Result<Vec<(usize, usize)>> {
    let program = &sections[section].funcs[func].name;
    let mut found = vec![(section, func)];
    let mut next = 0;
    while let Some(&(sec, f)) = found.get(next) {
        next += 1;
        let code = &sections[sec];
        let range = code.funcs[f].start..code.funcs[f].start + code.funcs[f].len;
        for (at, reloc) in code.links_in(range) {
            if let Some(c) = callee(sections, sec, at, reloc, program)? {
                if !found.contains(&(c.section, c.func)) {
                    found.push((c.section, c.func));
                }
            }
        }
    }
    Ok(found)
}

/// Where program `index`'s code comes from.
enum ProgramCode<'o> {
    /// Set by [`crate::Program::replace_code`].
    Replaced(&'o LinkedProgram),
    /// Its function: (code section, function) in the object's code, both in range.
    At(usize, usize),
}

impl Object {
    /// Program `index`'s code, checked to exist.
    fn program_code(&self, index: usize) -> Result<ProgramCode<'_>> {
        let p = self
            .programs
            .get(index)
            .ok_or_else(|| ObjError::program(&format!("#{index}"), "no such program in the object"))?;
        if let Some(code) = &p.replaced {
            return Ok(ProgramCode::Replaced(code));
        }
        let (section, func) = p.origin;
        if self.code.get(section).is_none_or(|c| c.funcs.get(func).is_none()) {
            return Err(ObjError::program(&p.name, "its function is not in the object's code"));
        }
        Ok(ProgramCode::At(section, func))
    }

    /// Program `index` of [`Object::programs`], linked: its function, then every subprogram it
    /// calls, with calls and records rebased (or the code set by [`crate::Program::replace_code`]).
    /// Each call links anew; the loader links a program just before loading it, and drops the
    /// copy once the kernel has it.
    pub fn link(&self, index: usize) -> Result<LinkedProgram> {
        match self.program_code(index)? {
            ProgramCode::Replaced(code) => Ok(code.clone()),
            ProgramCode::At(section, func) => link(&self.code, section, func, &self.code_ext),
        }
    }

    /// The program named `name`, linked (see [`Object::link`]).
    pub fn link_named(&self, name: &str) -> Result<LinkedProgram> {
        let index = self
            .programs
            .iter()
            .position(|p| p.name == name)
            .ok_or_else(|| ObjError::program(name, "no such program in the object"))?;
        self.link(index)
    }

    /// What the instructions of program `index` and of every subprogram it runs refer to
    /// (maps, data, externs), found without linking it.
    pub fn program_relocs(&self, index: usize) -> Result<Vec<&RelocTarget>> {
        let (section, func) = match self.program_code(index)? {
            ProgramCode::Replaced(code) => return Ok(code.relocs.iter().map(|r| &r.target).collect()),
            ProgramCode::At(section, func) => (section, func),
        };
        let mut out = Vec::new();
        for (sec, f) in reachable(&self.code, section, func)? {
            let code = &self.code[sec];
            let range = code.funcs[f].start..code.funcs[f].start + code.funcs[f].len;
            out.extend(code.relocs_in(range).iter().filter_map(|(_, r)| match r {
                RawReloc::Target(target) => Some(target),
                _ => None,
            }));
        }
        Ok(out)
    }
}

/// Appends function `f` of section `sec` to the program; returns its chunk index.
fn append(
    sections: &[CodeSection],
    sec: usize,
    f: usize,
    out: &mut LinkedProgram,
    chunks: &mut Vec<Chunk>,
    ext: &[Option<ExtSection>],
) -> usize {
    let code = &sections[sec];
    let func = &code.funcs[f];
    let new_start = out.insns.len();
    if out.insns.is_empty() {
        // The program itself: room for its subprograms too, guessed as the rest of the code.
        out.insns.reserve_exact(sections.iter().map(|s| s.insns.len()).sum::<usize>().min(func.len * 2 + 64));
    }
    out.insns.extend_from_slice(&code.insns[func.start..func.start + func.len]);
    out.functions.push((new_start, func.name.clone()));
    let range = func.start..func.start + func.len;
    let relocs = code.relocs_in(range.clone());
    out.relocs.reserve(relocs.len());
    for (orig, reloc) in relocs {
        if let RawReloc::Target(target) = reloc {
            out.relocs.push(InsnReloc { insn: new_start + (orig - func.start), target: target.clone() });
        }
    }
    if let Some(Some(records)) = ext.get(sec) {
        // `.BTF.ext` offsets are bytes within the section; the records are sorted by them, so
        // the function's own are one run, found by binary search (a big section has tens of
        // thousands of line records, and each program appends many of its functions).
        let (lo, hi) = ((func.start * 8) as u64, ((func.start + func.len) * 8) as u64);
        let rebase = |off: u32| -> Option<u32> {
            let insn = off as usize / 8;
            (off % 8 == 0 && range.contains(&insn)).then(|| (new_start + insn - func.start) as u32)
        };
        // Each run is the most that is appended: room for all of it at once.
        let fi = run_of(&records.func_info, |r| r.insn_off, lo, hi);
        out.func_info.reserve(fi.len());
        out.func_info.extend(fi.iter().filter_map(|r| Some(FuncInfo { insn_off: rebase(r.insn_off)?, ..*r })));
        let li = run_of(&records.line_info, |r| r.insn_off, lo, hi);
        out.line_info.reserve(li.len());
        out.line_info.extend(li.iter().filter_map(|r| Some(LineInfo { insn_off: rebase(r.insn_off)?, ..*r })));
        let cr = run_of(&records.core_relos, |r| r.insn_off, lo, hi);
        out.core_relos.reserve(cr.len());
        out.core_relos.extend(cr.iter().filter_map(|r| Some(CoreRelo { insn_off: rebase(r.insn_off)?, ..*r })));
    }
    chunks.push(Chunk { section: sec, func: f, orig_start: func.start, new_start, len: func.len });
    chunks.len() - 1
}

/// The records of `records` (sorted by `offset`) whose offsets lie in `lo..hi`.
fn run_of<T>(records: &[T], offset: impl Fn(&T) -> u32, lo: u64, hi: u64) -> &[T] {
    let start = records.partition_point(|r| u64::from(offset(r)) < lo);
    let end = records.partition_point(|r| u64::from(offset(r)) < hi);
    &records[start..end.max(start)]
}
