//! The generated `vmlinux.h` of real kernels, against bpftool's and through clang.
//!
//! For the running kernel, the Debian sid kernel of the corpus and one of its modules (split
//! BTF on that vmlinux), the header must:
//!
//! * define exactly the struct/union/enum/typedef names bpftool's defines (duplicates with
//!   their `___N` suffixes included): programs written against one compile against the other;
//! * be bpftool's text, top-level block for block, except for the one block bpftool loses (its
//!   sorted loop skips the first sorted type; see `bpfkit_btf::c_header`);
//! * compile with the sid chroot's clang-19 for `-target bpf` with the fixtures' flags, in a
//!   program that reads a field through CO-RE and asserts, for every struct with a unique name,
//!   `sizeof` and every plain member's `offsetof` equal to what BTF records (the padding and
//!   `packed` decisions reproduce the kernel's layout).
//!
//! bpftool and clang come from the test kit's Debian sid chroot, which needs root; without root
//! the tests print why they skip (and fail under `BPFKIT_NO_SKIP=1`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use bpfkit_btf::c_header::{CHeaderOptions, CHeaderSummary, write_c_header};
use bpfkit_btf::{Btf, Kind, TypeDetails};
use bpfkit_testkit::chroot::SidRoot;
use bpfkit_testkit::reference::Bpftool;

/// The sid chroot and its bpftool, or `None` after printing why the test skips.
fn reference(test: &str) -> Option<(SidRoot, Bpftool)> {
    if !bpfkit_testkit::skip::is_root() {
        skip(test, "needs root for the sid chroot (bpftool and clang-19 reference)");
        return None;
    }
    let kernel = bpfkit_testkit::kernel::SidKernel::fetch().unwrap_or_else(|e| panic!("{test}: sid kernel: {e}"));
    let root = SidRoot::ensure(kernel.version()).unwrap_or_else(|e| panic!("{test}: sid chroot: {e}"));
    let bpftool = Bpftool::new(&root).unwrap_or_else(|e| panic!("{test}: bpftool: {e}"));
    Some((root, bpftool))
}

fn skip(test: &str, reason: &str) {
    if let Err(fail) = bpfkit_testkit::skip::skip(test, reason) {
        panic!("{fail}");
    }
}

/// The corpus sid kernel's directory, or `None` after printing why the test skips.
fn sid_dir(test: &str) -> Option<PathBuf> {
    match bpfkit_testkit::corpus::kernel_dir("sid") {
        Ok(Some(dir)) => Some(dir),
        Ok(None) => {
            skip(test, bpfkit_testkit::corpus::SKIPPED);
            None
        }
        Err(e) => panic!("{test}: the Debian sid corpus kernel: {e}"),
    }
}

#[test]
fn running_kernel_header_matches_bpftool_and_compiles() {
    let test = "running_kernel_header_matches_bpftool_and_compiles";
    let path = Path::new("/sys/kernel/btf/vmlinux");
    if !path.exists() {
        return skip(test, "this kernel exposes no BTF at /sys/kernel/btf/vmlinux");
    }
    let Some((root, bpftool)) = reference(test) else { return };
    let btf = Btf::open(path, None).expect("parse the running kernel's BTF");
    let args = vec!["btf".into(), "dump".into(), "file".into(), path.into(), "format".into(), "c".into()];
    check("running kernel", &btf, &bpftool, args, Some(&root));
}

#[test]
fn debian_sid_header_matches_bpftool_and_compiles() {
    let test = "debian_sid_header_matches_bpftool_and_compiles";
    let Some(dir) = sid_dir(test) else { return };
    let Some((root, bpftool)) = reference(test) else { return };
    let path = dir.join("vmlinux");
    let btf = Btf::open(&path, None).expect("parse the sid vmlinux");
    let args = vec!["btf".into(), "dump".into(), "file".into(), path.into(), "format".into(), "c".into()];
    check("Debian sid vmlinux", &btf, &bpftool, args, Some(&root));
}

#[test]
fn debian_sid_module_header_matches_bpftool() {
    let test = "debian_sid_module_header_matches_bpftool";
    let Some(dir) = sid_dir(test) else { return };
    let module = dir.join("modules/kernel/fs/btrfs/btrfs.ko");
    if !module.is_file() {
        return skip(test, &format!("{} is not in the corpus", module.display()));
    }
    let Some((root, bpftool)) = reference(test) else { return };
    let vmlinux = dir.join("vmlinux");
    let base = Arc::new(Btf::open(&vmlinux, None).expect("parse the sid vmlinux"));
    let btf = Btf::open(&module, Some(base)).expect("parse btrfs.ko's split BTF");
    let args = vec![
        "btf".into(),
        "dump".into(),
        "file".into(),
        module.into(),
        "-B".into(),
        vmlinux.into(),
        "format".into(),
        "c".into(),
    ];
    check("Debian sid btrfs.ko on its vmlinux", &btf, &bpftool, args, Some(&root));
}

/// Generates the header of `btf`, compares it with bpftool's and, given a chroot, compiles it.
fn check(label: &str, btf: &Btf, bpftool: &Bpftool, args: Vec<OsString>, root: Option<&SidRoot>) {
    let mut ours = Vec::new();
    let summary = write_c_header(btf, &CHeaderOptions::default(), &mut ours).expect("generate the header");
    let ours = String::from_utf8(ours).expect("the header is UTF-8");
    let started = Instant::now();
    let theirs = bpftool.run(&args).expect("bpftool btf dump format c");
    let bpftool_time = started.elapsed();
    report(label, btf, &summary, &ours, bpftool_time);

    let (our_names, our_twice) = defined_names(&ours);
    let (their_names, _) = defined_names(&theirs);
    assert!(our_twice.is_empty(), "{label}: names defined twice: {our_twice:?}");
    if our_names != their_names {
        let only_ours: Vec<_> = our_names.difference(&their_names).take(40).collect();
        let only_theirs: Vec<_> = their_names.difference(&our_names).take(40).collect();
        panic!(
            "{label}: defined names differ ({} ours, {} bpftool's)\nonly in ours: {only_ours:?}\nonly in bpftool's: {only_theirs:?}",
            our_names.len(),
            their_names.len()
        );
    }
    println!("{label}: the same {} names as bpftool ({})", our_names.len(), name_counts(&our_names));

    // bpftool renames a module's own copy of the `__builtin_va_list` typedef (then refers to an
    // undefined `__builtin_va_list___2`); the generator keeps the built-in's name.
    let theirs = unsuffix_builtin(&theirs);
    match extra_block(&ours, &theirs) {
        Ok(None) => println!("{label}: byte for byte bpftool's header"),
        Ok(Some(block)) => println!(
            "{label}: bpftool's header plus the block its sorted loop skips: {}",
            block.lines().take(2).collect::<Vec<_>>().join(" ")
        ),
        Err(diff) => panic!("{label}: the header is not bpftool's: {diff}"),
    }

    if let Some(root) = root {
        compile(label, btf, root, &ours, &our_names);
    }
}

fn report(label: &str, btf: &Btf, summary: &CHeaderSummary, ours: &str, bpftool_time: std::time::Duration) {
    println!(
        "{label}: {} types -> {} definitions, {} forward declarations, {} kfuncs; {} bytes, {} lines in {:.1} ms \
         (bpftool: {:.1} ms, process included)",
        btf.type_count() - 1,
        summary.definitions,
        summary.forward_declarations,
        summary.kfuncs,
        summary.bytes,
        ours.lines().count(),
        summary.elapsed.as_secs_f64() * 1e3,
        bpftool_time.as_secs_f64() * 1e3,
    );
}

fn name_counts(names: &BTreeSet<String>) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for name in names {
        *counts.entry(name.split(' ').next().unwrap_or("")).or_default() += 1;
    }
    let suffixed = names.iter().filter(|n| n.contains("___")).count();
    let list: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    format!("{}; {suffixed} with a ___N suffix", list.join(", "))
}

/// `text` with `__builtin_va_list___N` turned back into `__builtin_va_list`.
fn unsuffix_builtin(text: &str) -> String {
    const BUILTIN: &str = "__builtin_va_list";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(BUILTIN) {
        let end = at + BUILTIN.len();
        out.push_str(&rest[..end]);
        rest = &rest[end..];
        if let Some(after) = rest.strip_prefix("___") {
            let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            if digits > 0 {
                rest = &after[digits..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `Ok(None)` if the headers are equal, `Ok(Some(block))` if `ours` is `theirs` with one more
/// top-level anonymous enum block at the first difference (the type bpftool skips).
fn extra_block<'a>(ours: &'a str, theirs: &str) -> Result<Option<&'a str>, String> {
    if ours == theirs {
        return Ok(None);
    }
    let our_blocks: Vec<&str> = ours.split("\n\n").collect();
    let their_blocks: Vec<&str> = theirs.split("\n\n").collect();
    let first = our_blocks.iter().zip(&their_blocks).position(|(a, b)| a != b).unwrap_or(their_blocks.len());
    let extra = our_blocks.get(first).copied().unwrap_or("");
    if !extra.starts_with("enum {\n") || our_blocks.get(first + 1..) != their_blocks.get(first..) {
        let theirs_there = their_blocks.get(first).copied().unwrap_or("<end>");
        return Err(format!(
            "first difference at top-level block {first}:\n--- ours\n{extra}\n--- bpftool\n{theirs_there}"
        ));
    }
    Ok(Some(extra))
}

/// The names a header defines at top level: `struct X`, `union X`, `enum X` (with a body) and
/// `typedef X`; also the names defined more than once.
fn defined_names(header: &str) -> (BTreeSet<String>, Vec<String>) {
    let mut names = BTreeSet::new();
    let mut twice = Vec::new();
    for statement in top_level_statements(header) {
        let Some(name) = defined_name(&statement) else { continue };
        if !names.insert(name.clone()) {
            twice.push(name);
        }
    }
    (names, twice)
}

/// Top-level statements: from a line starting a declaration to the `;` that ends it at brace
/// depth 0, preprocessor lines and comments left out.
fn top_level_statements(header: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    let mut depth = 0i64;
    for line in header.lines() {
        if current.is_empty() {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("/*") {
                continue;
            }
        }
        current.push_str(line);
        current.push('\n');
        depth += line.matches('{').count() as i64 - line.matches('}').count() as i64;
        if depth == 0 && line.trim_end().ends_with(';') {
            statements.push(std::mem::take(&mut current));
        }
    }
    statements
}

/// What one top-level statement defines, if anything.
fn defined_name(statement: &str) -> Option<String> {
    if let Some(rest) = statement.strip_prefix("typedef ") {
        return typedef_name(rest).map(|n| format!("typedef {n}"));
    }
    let first_line = statement.lines().next()?;
    for keyword in ["struct", "union", "enum"] {
        if let Some(rest) = first_line.strip_prefix(keyword).and_then(|r| r.strip_prefix(' ')) {
            let mut words = rest.split_whitespace();
            let name = words.next()?;
            // `struct X {` defines X; `struct X;` only declares it; `enum {` is anonymous.
            if name != "{" && words.next() == Some("{") {
                return Some(format!("{keyword} {name}"));
            }
        }
    }
    None
}

/// The name a typedef declares: bodies and attributes removed, it is the identifier after the
/// first `(*` (function pointers), else before the first `(` (function types) or `[`
/// (arrays), else the last one.
fn typedef_name(declaration: &str) -> Option<String> {
    let flat = strip_attributes(&strip_bodies(declaration));
    let flat = flat.trim_end().strip_suffix(';')?.trim_end();
    if let Some(at) = flat.find("(*") {
        return first_identifier(&flat[at..]);
    }
    if let Some(at) = flat.find(['(', '[']) {
        return last_identifier(&flat[..at]);
    }
    last_identifier(flat)
}

fn strip_bodies(s: &str) -> String {
    let mut depth = 0usize;
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn strip_attributes(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find("__attribute__") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "__attribute__".len()..];
        let mut depth = 0usize;
        let mut end = after.len();
        for (i, c) in after.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn first_identifier(s: &str) -> Option<String> {
    s.split(|c: char| !is_ident(c)).find(|w| !w.is_empty()).map(str::to_owned)
}

fn last_identifier(s: &str) -> Option<String> {
    s.split(|c: char| !is_ident(c)).rfind(|w| !w.is_empty()).map(str::to_owned)
}

/// Compiles the header in the chroot with a program that uses it through CO-RE and asserts
/// the layout of every struct/union whose name no other type takes.
fn compile(label: &str, btf: &Btf, root: &SidRoot, header: &str, defined: &BTreeSet<String>) {
    let tag = format!("bpfkit-c-header-{}-{}", std::process::id(), label.replace(|c: char| !is_ident(c), "_"));
    let dir = root.path().join("tmp").join(&tag);
    std::fs::create_dir_all(&dir).expect("create the build directory in the chroot");
    std::fs::write(dir.join("vmlinux.h"), header).expect("write the header into the chroot");
    let (asserts, count) = layout_asserts(btf, defined);
    let program = format!(
        "#include \"vmlinux.h\"\n\n\
         int task_pid(struct task_struct *t) {{ return t->pid; }}\n\
         unsigned long long task_start(struct task_struct *t) {{ return t->start_time; }}\n\
         int sk_family(struct sock *sk) {{ return sk->__sk_common.skc_family; }}\n\n{asserts}"
    );
    std::fs::write(dir.join("use.c"), program).expect("write the program into the chroot");
    let started = Instant::now();
    let result = root.sh(&format!(
        "cd /tmp/{tag} && clang-19 -target bpf -g -O2 -Wall -Werror -fms-extensions -Wno-microsoft-anon-tag \
         -D__TARGET_ARCH_x86 -c use.c -o use.o 2>&1"
    ));
    let elapsed = started.elapsed();
    let _ = std::fs::remove_dir_all(&dir);
    match result {
        Ok(output) => {
            if !output.trim().is_empty() {
                println!("{label}: clang-19 said:\n{output}");
            }
            println!("{label}: compiled with clang-19 ({count} layout assertions) in {:.1} s", elapsed.as_secs_f64());
        }
        Err(e) => panic!("{label}: clang-19 rejects the header: {e}"),
    }
}

/// `_Static_assert`s on `sizeof` and plain members' `offsetof` of the structs and unions whose
/// name is theirs alone (so it is printed unsuffixed) and that the header defines.
fn layout_asserts(btf: &Btf, defined: &BTreeSet<String>) -> (String, usize) {
    // Holders of each tag name, counted like the generator counts them.
    let mut holders: HashMap<&str, usize> = HashMap::new();
    for id in 1..btf.type_count() {
        let t = btf.type_by_id(id).expect("type");
        let counts = match t.kind() {
            Kind::Struct | Kind::Union | Kind::Enum64 | Kind::Int => true,
            Kind::Enum => t.vlen() > 0,
            _ => false,
        };
        if counts && t.name_offset() != 0 {
            *holders.entry(t.name().expect("name")).or_default() += 1;
        }
    }
    let mut builtin_inside = HashMap::new();
    let mut out = String::new();
    let mut count = 0;
    for id in 1..btf.type_count() {
        let t = btf.type_by_id(id).expect("type");
        let keyword = match t.details() {
            TypeDetails::Struct(_) => "struct",
            TypeDetails::Union(_) => "union",
            _ => continue,
        };
        let name = t.name().expect("name");
        if name.is_empty() || holders.get(name) != Some(&1) || !defined.contains(&format!("{keyword} {name}")) {
            continue;
        }
        // The kernel's va_list (24 bytes on x86-64) is the BPF target's (a pointer) in C.
        if contains_builtin(btf, id, &mut builtin_inside) {
            continue;
        }
        let size = t.size().unwrap_or(0);
        out.push_str(&format!("_Static_assert(sizeof({keyword} {name}) == {size}, \"{name}\");\n"));
        count += 1;
        for m in t.members() {
            let field = btf.str_at(m.name_off).expect("member name");
            if field.is_empty() || m.bitfield_size() != 0 {
                continue;
            }
            let offset = m.bit_offset() / 8;
            out.push_str(&format!(
                "_Static_assert(__builtin_offsetof({keyword} {name}, {field}) == {offset}, \"{name}.{field}\");\n"
            ));
            count += 1;
        }
    }
    (out, count)
}

/// Whether `id` holds `__builtin_va_list` by value, whose size differs between the kernel's
/// compiler and the BPF target.
fn contains_builtin(btf: &Btf, id: u32, known: &mut HashMap<u32, bool>) -> bool {
    if let Some(&answer) = known.get(&id) {
        return answer;
    }
    known.insert(id, false);
    let answer = match btf.type_by_id(id).map(|t| (t.name().unwrap_or("") == "__builtin_va_list", t.details())) {
        Ok((true, _)) => true,
        Ok((_, TypeDetails::Struct(members) | TypeDetails::Union(members))) => {
            members.into_iter().any(|m| contains_builtin(btf, m.ty, known))
        }
        Ok((_, TypeDetails::Array(a))) => contains_builtin(btf, a.elem_type, known),
        Ok((
            _,
            TypeDetails::Typedef(r) | TypeDetails::Const(r) | TypeDetails::Volatile(r) | TypeDetails::TypeTag(r),
        )) => contains_builtin(btf, r, known),
        _ => false,
    };
    known.insert(id, answer);
    answer
}

#[test]
fn the_scanner_finds_what_a_header_defines() {
    let header = "\
#ifndef X\n#define X\n\n\
struct a {\n\tint x;\n};\n\n\
struct fwd;\n\n\
enum {\n\tK = 0,\n};\n\n\
enum e {\n\tE = 0,\n} __attribute__((mode(byte)));\n\n\
union u {\n\tstruct {\n\t\tint y;\n\t} s;\n};\n\n\
typedef int int_t;\n\n\
typedef struct {\n\tint (*cb)(int);\n} anon_t;\n\n\
typedef int (*handler_t)(struct a *, int);\n\n\
typedef void fn_t(int);\n\n\
typedef unsigned int arr_t[4];\n\n\
typedef struct {\n\tint x;\n} __attribute__((packed)) packed_t;\n\n\
typedef enum {\n\tV = 1,\n} __attribute__((mode(byte))) small_t;\n\n\
typedef int (*table_t[2])(void);\n\n\
extern int bpf_f(struct a *x) __weak __ksym;\n\n\
#endif\n";
    let (names, twice) = defined_names(header);
    let expected: BTreeSet<String> = [
        "struct a",
        "enum e",
        "union u",
        "typedef int_t",
        "typedef anon_t",
        "typedef handler_t",
        "typedef fn_t",
        "typedef arr_t",
        "typedef packed_t",
        "typedef small_t",
        "typedef table_t",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(names, expected);
    assert!(twice.is_empty());
}
