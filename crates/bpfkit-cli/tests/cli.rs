//! Runs the `bpfkit` binary on BTF built for the test and on the running kernel's BTF.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bpfkit_btf::{Btf, BtfBuilder, IntEncoding, MemberSpec, VarSecinfo, linkage};

fn bpfkit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bpfkit")).args(args).output().expect("run bpfkit")
}

fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "bpfkit failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).expect("utf-8 output")
}

/// A file in the temp dir, unique to this test process, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(tag: &str, bytes: &[u8]) -> TempFile {
        let path = std::env::temp_dir().join(format!("bpfkit-cli-{}-{tag}.btf", std::process::id()));
        std::fs::write(&path, bytes).expect("write temp file");
        TempFile(path)
    }
    fn path(&self) -> &str {
        self.0.to_str().expect("utf-8 temp path")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn every_kind() -> Vec<u8> {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, IntEncoding::SIGNED); // 1
    let ptr = b.add_ptr(int); // 2
    let arr = b.add_array(int, int, 4); // 3
    b.add_struct("s", 8, &[MemberSpec::bitfield("a", int, 0, 3), MemberSpec::new("p", ptr, 4)]); // 4
    b.add_union("u", 4, &[MemberSpec::new("i", int, 0)]); // 5
    b.add_enum("e", 4, false, &[("A", 0), ("B", 2)]); // 6
    b.add_enum64("e64", 8, true, &[("BIG", u64::MAX)]); // 7
    b.add_fwd("f", true); // 8
    b.add_typedef("t", arr); // 9
    let v = b.add_volatile(int); // 10
    b.add_const(v); // 11
    b.add_restrict(ptr); // 12
    let proto = b.add_func_proto(int, &[("x", int)]); // 13
    let func = b.add_func("fn", proto, linkage::GLOBAL); // 14
    let var = b.add_var("v", int, linkage::STATIC); // 15
    b.add_datasec(".data", 4, &[VarSecinfo { ty: var, offset: 0, size: 4 }]); // 16
    b.add_float("double", 8); // 17
    b.add_decl_tag("tag\"q", func, -1); // 18
    b.add_type_tag("rcu", int); // 19
    b.encode().expect("encode")
}

#[test]
fn dump_prints_every_kind_like_bpftool() {
    let file = TempFile::new("kinds", &every_kind());
    let text = stdout(&bpfkit(&["btf", "dump", file.path()]));
    let expected = "\
[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED
[2] PTR '(anon)' type_id=1
[3] ARRAY '(anon)' type_id=1 index_type_id=1 nr_elems=4
[4] STRUCT 's' size=8 vlen=2
\t'a' type_id=1 bits_offset=0 bitfield_size=3
\t'p' type_id=2 bits_offset=32
[5] UNION 'u' size=4 vlen=1
\t'i' type_id=1 bits_offset=0
[6] ENUM 'e' encoding=UNSIGNED size=4 vlen=2
\t'A' val=0
\t'B' val=2
[7] ENUM64 'e64' encoding=SIGNED size=8 vlen=1
\t'BIG' val=-1
[8] FWD 'f' fwd_kind=union
[9] TYPEDEF 't' type_id=3
[10] VOLATILE '(anon)' type_id=1
[11] CONST '(anon)' type_id=10
[12] RESTRICT '(anon)' type_id=2
[13] FUNC_PROTO '(anon)' ret_type_id=1 vlen=1
\t'x' type_id=1
[14] FUNC 'fn' type_id=13 linkage=global
[15] VAR 'v' type_id=1, linkage=static
[16] DATASEC '.data' size=4 vlen=1
\ttype_id=15 offset=0 size=4
[17] FLOAT 'double' size=8
[18] DECL_TAG 'tag\"q' type_id=14 component_idx=-1
[19] TYPE_TAG 'rcu' type_id=1
";
    assert_eq!(text, expected);

    let one = stdout(&bpfkit(&["btf", "dump", file.path(), "--id", "6"]));
    assert_eq!(one, "[6] ENUM 'e' encoding=UNSIGNED size=4 vlen=2\n\t'A' val=0\n\t'B' val=2\n");
    let named = stdout(&bpfkit(&["btf", "dump", file.path(), "--name", "fn"]));
    assert_eq!(named, "[14] FUNC 'fn' type_id=13 linkage=global\n");
}

#[test]
fn json_dump_is_well_formed() {
    let file = TempFile::new("json", &every_kind());
    let json = stdout(&bpfkit(&["btf", "dump", file.path(), "--json"]));
    assert!(json.starts_with('[') && json.trim_end().ends_with(']'), "{json}");
    assert!(json.contains(r#"{"id":4,"kind":"STRUCT","name":"s","size":8,"members":[{"name":"a","type_id":1,"bits_offset":0,"bitfield_size":3},"#));
    assert!(json.contains(r#""name":"tag\"q""#), "quotes are escaped");
    assert_eq!(json.matches("\"id\":").count(), 19);
    // Balanced brackets and braces outside strings.
    let (mut depth, mut in_str, mut escaped) = (0i32, false, false);
    for c in json.chars() {
        match (in_str, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (true, false, '"') => in_str = false,
            (false, _, '"') => in_str = true,
            (false, _, '[' | '{') => depth += 1,
            (false, _, ']' | '}') => depth -= 1,
            _ => {}
        }
        assert!(depth >= 0);
    }
    assert_eq!(depth, 0);
}

#[test]
fn inspect_summarises_base_and_split() {
    let base_bytes = every_kind();
    let base = TempFile::new("base", &base_bytes);
    let text = stdout(&bpfkit(&["btf", "inspect", base.path()]));
    assert!(text.contains("types:           19 own, ids up to 19"), "{text}");
    assert!(text.contains("  STRUCT              1\n"), "{text}");
    assert!(text.contains("split on:        - (base BTF)"), "{text}");

    let base_btf = Btf::parse(base_bytes).expect("parse base");
    let mut m = BtfBuilder::new_split(&base_btf);
    m.add_struct("mod_only", 4, &[MemberSpec::new("x", 1, 0)]);
    let split = TempFile::new("split", &m.encode().expect("encode"));
    let text = stdout(&bpfkit(&["btf", "inspect", split.path(), "--base", base.path()]));
    assert!(text.contains("first type id:   20"), "{text}");
    assert!(text.contains("types:           1 own, ids up to 20"), "{text}");
    let dump = stdout(&bpfkit(&["btf", "dump", split.path(), "--base", base.path()]));
    assert_eq!(dump, "[20] STRUCT 'mod_only' size=4 vlen=1\n\t'x' type_id=1 bits_offset=0\n");
    // A base type seen through the split.
    let dump = stdout(&bpfkit(&["btf", "dump", split.path(), "--base", base.path(), "--id", "1"]));
    assert_eq!(dump, "[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED\n");
    // Without its base, the split's references do not resolve: a precise error, exit code 1.
    let out = bpfkit(&["btf", "dump", split.path()]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn bad_input_is_a_clear_error() {
    let junk = TempFile::new("junk", b"\x9f\xeb\x01\x00\x18\x00\x00\x00\xff\xff\xff\xff");
    let out = bpfkit(&["btf", "inspect", junk.path()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("bpfkit: ") && err.contains(junk.path()), "{err}");
    let out = bpfkit(&["btf", "dump", "/nonexistent/file"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/file"));
    let out = bpfkit(&["btf", "dump", junk.path(), "--id", "99"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn running_kernel() {
    if !Path::new("/sys/kernel/btf/vmlinux").exists() {
        println!("skipped: /sys/kernel/btf/vmlinux does not exist");
        return;
    }
    let text = stdout(&bpfkit(&["btf", "inspect"]));
    let structs: usize = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("STRUCT"))
        .and_then(|n| n.trim().parse().ok())
        .expect("STRUCT count line");
    assert!(structs > 1000, "{text}");
    let dump = stdout(&bpfkit(&["btf", "dump", "--name", "task_struct"]));
    assert!(dump.lines().any(|l| l.contains("] STRUCT 'task_struct' size=")), "{dump}");
}
