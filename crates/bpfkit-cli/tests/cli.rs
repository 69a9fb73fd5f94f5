//! Runs the `bpfkit` binary on BTF built for the test and on the running kernel's BTF.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use bpfkit_btf::{Btf, BtfBuilder, Endian, IntEncoding, Kind, MemberSpec, RecordData, TypeRecord, VarSecinfo, linkage};

fn bpfkit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bpfkit")).args(args).output().expect("run bpfkit")
}

/// Stdout of a run that must succeed with nothing on stderr.
fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "bpfkit failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

/// Stderr of a run that must fail with exit code 1 and print nothing on stdout.
fn failure(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(1), "stdout: {}", String::from_utf8_lossy(&out.stdout));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr.clone()).expect("UTF-8 stderr");
    assert!(err.starts_with("bpfkit: ") && err.ends_with('\n') && err.lines().count() == 1, "{err}");
    err
}

/// A file in the temp dir, unique to this process and call, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(tag: &str, bytes: &[u8]) -> TempFile {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("bpfkit-cli-test-{}-{n}-{tag}", std::process::id()));
        std::fs::write(&path, bytes).expect("write temp file");
        TempFile(path)
    }
    fn path(&self) -> &str {
        self.0.to_str().expect("UTF-8 temp path")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// One type of every kind, plus the cases that print differently (signedness, anonymous names,
/// varargs, a name with quotes, backslashes and a tab).
fn every_kind() -> BtfBuilder {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, IntEncoding::SIGNED); // 1
    let boolean = b.add_int("_Bool", 1, IntEncoding::BOOL); // 2
    let ptr = b.add_ptr(int); // 3
    b.add_array(int, int, 4); // 4
    let s = b.add_struct(
        "s",
        16,
        &[MemberSpec::bitfield("a", int, 0, 3), MemberSpec::bitfield("b", boolean, 3, 1), MemberSpec::new("p", ptr, 8)],
    ); // 5
    b.add_union("", 4, &[MemberSpec::new("i", int, 0)]); // 6
    b.add_enum("e", 4, false, &[("A", 0), ("MAX", -1)]); // 7
    b.add_enum("se", 4, true, &[("NEG", -1)]); // 8
    b.add_enum64("e64", 8, false, &[("BIG", u64::MAX)]); // 9
    b.add_enum64("se64", 8, true, &[("MIN", 1 << 63)]); // 10
    b.add_fwd("f", true); // 11
    b.add_typedef("s", s); // 12
    let v = b.add_volatile(int); // 13
    b.add_const(v); // 14
    b.add_restrict(ptr); // 15
    let proto = b.add_func_proto(int, &[("x", int), ("", 0)]); // 16
    let func = b.add_func("fn", proto, linkage::GLOBAL); // 17
    b.add_func("helper", proto, linkage::STATIC); // 18
    let var = b.add_var("v", int, linkage::GLOBAL); // 19
    b.add_datasec(".data", 4, &[VarSecinfo { ty: var, offset: 0, size: 4 }]); // 20
    b.add_float("double", 8); // 21
    b.add_decl_tag("tag", func, -1); // 22
    b.add_decl_tag("arg", func, 0); // 23
    b.add_type_tag("rcu", ptr); // 24
    b.add_typedef("q\"\\\t", int); // 25
    b
}

fn every_kind_bytes() -> Vec<u8> {
    every_kind().encode().expect("encode")
}

const EVERY_KIND_DUMP: &str = "\
[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED
[2] INT '_Bool' size=1 bits_offset=0 nr_bits=8 encoding=BOOL
[3] PTR '(anon)' type_id=1
[4] ARRAY '(anon)' type_id=1 index_type_id=1 nr_elems=4
[5] STRUCT 's' size=16 vlen=3
\t'a' type_id=1 bits_offset=0 bitfield_size=3
\t'b' type_id=2 bits_offset=3 bitfield_size=1
\t'p' type_id=3 bits_offset=64
[6] UNION '(anon)' size=4 vlen=1
\t'i' type_id=1 bits_offset=0
[7] ENUM 'e' encoding=UNSIGNED size=4 vlen=2
\t'A' val=0
\t'MAX' val=4294967295
[8] ENUM 'se' encoding=SIGNED size=4 vlen=1
\t'NEG' val=-1
[9] ENUM64 'e64' encoding=UNSIGNED size=8 vlen=1
\t'BIG' val=18446744073709551615
[10] ENUM64 'se64' encoding=SIGNED size=8 vlen=1
\t'MIN' val=-9223372036854775808
[11] FWD 'f' fwd_kind=union
[12] TYPEDEF 's' type_id=5
[13] VOLATILE '(anon)' type_id=1
[14] CONST '(anon)' type_id=13
[15] RESTRICT '(anon)' type_id=3
[16] FUNC_PROTO '(anon)' ret_type_id=1 vlen=2
\t'x' type_id=1
\t'(anon)' type_id=0
[17] FUNC 'fn' type_id=16 linkage=global
[18] FUNC 'helper' type_id=16 linkage=static
[19] VAR 'v' type_id=1, linkage=global
[20] DATASEC '.data' size=4 vlen=1
\ttype_id=19 offset=0 size=4
[21] FLOAT 'double' size=8
[22] DECL_TAG 'tag' type_id=17 component_idx=-1
[23] DECL_TAG 'arg' type_id=17 component_idx=0
[24] TYPE_TAG 'rcu' type_id=3
[25] TYPEDEF 'q\"\\\t' type_id=1
";

#[test]
fn dump_prints_every_kind_like_bpftool() {
    let file = TempFile::new("kinds", &every_kind_bytes());
    assert_eq!(stdout(&bpfkit(&["btf", "dump", file.path()])), EVERY_KIND_DUMP);
}

#[test]
fn dump_selects_by_id_and_name() {
    let file = TempFile::new("select", &every_kind_bytes());
    let dump = |args: &[&str]| stdout(&bpfkit(&[&["btf", "dump", file.path()], args].concat()));
    assert_eq!(
        dump(&["--id", "7"]),
        "[7] ENUM 'e' encoding=UNSIGNED size=4 vlen=2\n\t'A' val=0\n\t'MAX' val=4294967295\n"
    );
    assert_eq!(dump(&["--name", "fn"]), "[17] FUNC 'fn' type_id=16 linkage=global\n");
    // Names are not unique: every match, in id order.
    let s = dump(&["--name", "s"]);
    let heads: Vec<&str> = s.lines().filter(|l| l.starts_with('[')).collect();
    assert_eq!(heads, ["[5] STRUCT 's' size=16 vlen=3", "[12] TYPEDEF 's' type_id=5"]);
    assert_eq!(dump(&["--name", "s", "--json"]).matches("\"id\":").count(), 2);
}

#[test]
fn json_dump_is_valid_and_complete() {
    let file = TempFile::new("json", &every_kind_bytes());
    let json = stdout(&bpfkit(&["btf", "dump", file.path(), "--json"]));
    assert!(json.starts_with("[\n") && json.ends_with("\n]\n"), "{json}");
    json::validate(&json).unwrap_or_else(|e| panic!("invalid JSON ({e}): {json}"));
    let lines: Vec<&str> = json.lines().collect();
    assert_eq!(lines.len(), 25 + 2, "one object per line");
    let expected = [
        r#"{"id":1,"kind":"INT","name":"int","size":4,"bits_offset":0,"nr_bits":32,"encoding":"SIGNED"},"#,
        r#"{"id":3,"kind":"PTR","name":"","type_id":1},"#,
        r#"{"id":4,"kind":"ARRAY","name":"","type_id":1,"index_type_id":1,"nr_elems":4},"#,
        concat!(
            r#"{"id":5,"kind":"STRUCT","name":"s","size":16,"members":["#,
            r#"{"name":"a","type_id":1,"bits_offset":0,"bitfield_size":3},"#,
            r#"{"name":"b","type_id":2,"bits_offset":3,"bitfield_size":1},"#,
            r#"{"name":"p","type_id":3,"bits_offset":64,"bitfield_size":0}]},"#
        ),
        r#"{"id":8,"kind":"ENUM","name":"se","encoding":"SIGNED","size":4,"values":[{"name":"NEG","val":-1}]},"#,
        r#"{"id":9,"kind":"ENUM64","name":"e64","encoding":"UNSIGNED","size":8,"values":[{"name":"BIG","val":18446744073709551615}]},"#,
        r#"{"id":11,"kind":"FWD","name":"f","fwd_kind":"union"},"#,
        r#"{"id":16,"kind":"FUNC_PROTO","name":"","ret_type_id":1,"params":[{"name":"x","type_id":1},{"name":"","type_id":0}]},"#,
        r#"{"id":18,"kind":"FUNC","name":"helper","type_id":16,"linkage":"static"},"#,
        r#"{"id":19,"kind":"VAR","name":"v","type_id":1,"linkage":"global"},"#,
        r#"{"id":20,"kind":"DATASEC","name":".data","size":4,"vars":[{"type_id":19,"offset":0,"size":4}]},"#,
        r#"{"id":21,"kind":"FLOAT","name":"double","size":8},"#,
        r#"{"id":23,"kind":"DECL_TAG","name":"arg","type_id":17,"component_idx":0},"#,
        r#"{"id":24,"kind":"TYPE_TAG","name":"rcu","type_id":3},"#,
        r#"{"id":25,"kind":"TYPEDEF","name":"q\"\\\t","type_id":1}"#,
    ];
    for line in expected {
        assert!(lines.contains(&line), "missing {line}\nin\n{json}");
    }
    // Nothing selected is still an array; an empty split has no own types.
    let base = Btf::parse(every_kind_bytes()).expect("parse");
    let empty = TempFile::new("empty-split", &BtfBuilder::new_split(&base).encode().expect("encode"));
    let out = stdout(&bpfkit(&["btf", "dump", empty.path(), "--base", file.path(), "--json"]));
    assert_eq!(out, "[]\n");
}

#[test]
fn inspect_summarises_a_base() {
    let bytes = every_kind_bytes();
    let strings = Btf::parse(bytes.clone()).expect("parse").own_strings().len();
    let file = TempFile::new("inspect", &bytes);
    let endian = if cfg!(target_endian = "little") { "little-endian" } else { "big-endian" };
    let expected = format!(
        "\
file:            {path}
container:       raw BTF
BTF size:        {len} bytes
byte order:      {endian}
header length:   24 bytes
split on:        - (base BTF)
own types:       25
total types:     25 (ids 1..=25)
types by kind:
  INT                  2
  PTR                  1
  ARRAY                1
  STRUCT               1
  UNION                1
  ENUM                 2
  FWD                  1
  TYPEDEF              2
  VOLATILE             1
  CONST                1
  RESTRICT             1
  FUNC                 2
  FUNC_PROTO           1
  VAR                  1
  DATASEC              1
  FLOAT                1
  DECL_TAG             2
  TYPE_TAG             1
  ENUM64               2
string bytes:    {strings}
sorted by name:  no
layout section:  no
",
        path = file.path(),
        len = bytes.len(),
    );
    assert_eq!(stdout(&bpfkit(&["btf", "inspect", file.path()])), expected);
}

#[test]
fn big_endian_sorted_blob() {
    // Anonymous first, then ascending names: what 7.x kernels emit.
    let mut b = BtfBuilder::new();
    b.set_endian(if cfg!(target_endian = "little") { Endian::Big } else { Endian::Little });
    b.add_ptr(2); // 1
    b.add_int("char", 1, IntEncoding::CHAR); // 2
    b.add_typedef("u8", 2); // 3
    let file = TempFile::new("foreign-endian", &b.encode().expect("encode"));
    let text = stdout(&bpfkit(&["btf", "inspect", file.path()]));
    let endian = if cfg!(target_endian = "little") { "big-endian" } else { "little-endian" };
    assert!(text.contains(&format!("\nbyte order:      {endian}\n")), "{text}");
    assert!(text.contains("\nsorted by name:  yes\n"), "{text}");
    let dump = stdout(&bpfkit(&["btf", "dump", file.path()]));
    let expected = "\
[1] PTR '(anon)' type_id=2
[2] INT 'char' size=1 bits_offset=0 nr_bits=8 encoding=CHAR
[3] TYPEDEF 'u8' type_id=2
";
    assert_eq!(dump, expected);
}

#[test]
fn unknown_kinds_described_by_a_layout_section() {
    // One `btf_layout` entry (info size, element size, flags) per kind number 0..=20; 20 is new.
    let mut layout = Vec::new();
    for raw in 0..=20u8 {
        let (info, elem) = match Kind::from_raw(raw) {
            Some(k) if k.is_known() => (k.info_size() as u8, k.elem_size() as u8),
            _ => (4, 8),
        };
        layout.extend_from_slice(&[info, elem, 0, 0]);
    }
    let mut b = BtfBuilder::new();
    b.set_layout(Some(layout));
    b.add_int("int", 4, IntEncoding::SIGNED);
    let name_off = b.add_string("novel");
    let data = RecordData::Unknown { kind: 20, vlen: 2, word3: 1, payload: vec![0; 4 + 2 * 8] };
    b.add_type(TypeRecord { name_off, kind_flag: false, data });
    let file = TempFile::new("layout", &b.encode().expect("encode"));
    let dump = stdout(&bpfkit(&["btf", "dump", file.path()]));
    assert_eq!(dump.lines().nth(1), Some("[2] UNKNOWN_20 'novel' vlen=2 payload=20 bytes"), "{dump}");
    let json = stdout(&bpfkit(&["btf", "dump", file.path(), "--json", "--id", "2"]));
    assert_eq!(json, "[\n{\"id\":2,\"kind\":\"UNKNOWN_20\",\"name\":\"novel\",\"vlen\":2,\"payload_bytes\":20}\n]\n");
    let text = stdout(&bpfkit(&["btf", "inspect", file.path()]));
    assert!(text.contains("\nheader length:   32 bytes\n"), "{text}");
    assert!(text.contains("\n  UNKNOWN_20           1\n"), "{text}");
    assert!(text.ends_with("\nlayout section:  yes (21 kinds described)\n"), "{text}");
}

#[test]
fn elf_files_are_read_through_their_btf_section() {
    let bytes = every_kind_bytes();
    let elf = minimal_elf(&bytes);
    let file = TempFile::new("elf", &elf);
    let text = stdout(&bpfkit(&["btf", "inspect", file.path()]));
    assert!(text.contains(&format!("\ncontainer:       ELF ({} bytes), .BTF section\n", elf.len())), "{text}");
    assert!(text.contains(&format!("\nBTF size:        {} bytes\n", bytes.len())), "{text}");
    assert_eq!(stdout(&bpfkit(&["btf", "dump", file.path()])), EVERY_KIND_DUMP);
}

#[test]
fn split_btf_on_a_base() {
    let base_bytes = every_kind_bytes();
    let base_btf = Btf::parse(base_bytes.clone()).expect("parse base");
    let base = TempFile::new("base", &base_bytes);
    let mut m = BtfBuilder::new_split(&base_btf);
    m.add_struct("mod_only", 4, &[MemberSpec::new("x", 1, 0)]); // 26
    m.add_typedef("s", 26); // 27
    let split = TempFile::new("split", &m.encode().expect("encode"));
    let on_base = |args: &[&str]| stdout(&bpfkit(&[args, &[split.path(), "--base", base.path()]].concat()));

    let text = on_base(&["btf", "inspect"]);
    let expected = format!(
        "split on:        {}\nfirst type id:   26\nfirst string:    {}\nown types:       2\n\
         total types:     27 (ids 1..=27, base included)\ntypes by kind:\n  STRUCT               1\n  TYPEDEF              1\n",
        base.path(),
        base_btf.strings_len()
    );
    assert!(text.contains(&expected), "{text}");

    // Only the split's own types...
    let dump = on_base(&["btf", "dump"]);
    assert_eq!(
        dump,
        "[26] STRUCT 'mod_only' size=4 vlen=1\n\t'x' type_id=1 bits_offset=0\n[27] TYPEDEF 's' type_id=26\n"
    );
    // ... but ids and names reach into the base.
    let int = on_base(&["btf", "dump", "--id", "1"]);
    assert_eq!(int, "[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED\n");
    let named = on_base(&["btf", "dump", "--name", "s"]);
    let heads: Vec<&str> = named.lines().filter(|l| l.starts_with('[')).collect();
    assert_eq!(heads, ["[5] STRUCT 's' size=16 vlen=3", "[12] TYPEDEF 's' type_id=5", "[27] TYPEDEF 's' type_id=26"]);

    // Without its base, a split blob does not parse; the message says what to do.
    let err = failure(&bpfkit(&["btf", "dump", split.path()]));
    assert!(err.starts_with(&format!("bpfkit: {}: ", split.path())) && err.contains("--base"), "{err}");
    // A bad base is named as such.
    let junk = TempFile::new("junk-base", b"not BTF at all, long enough for a header");
    let err = failure(&bpfkit(&["btf", "dump", split.path(), "--base", junk.path()]));
    assert!(err.starts_with(&format!("bpfkit: base {}: bad BTF magic", junk.path())), "{err}");
}

#[test]
fn bad_input_is_a_clear_error() {
    let junk = TempFile::new("junk", b"this is not BTF, and it is long enough for a header");
    let err = failure(&bpfkit(&["btf", "inspect", junk.path()]));
    assert_eq!(
        err,
        format!("bpfkit: {}: bad BTF magic [74, 68] (expected 0xeb9f in either byte order)\n", junk.path())
    );

    let short = TempFile::new("short", b"\x9f\xeb\x01\x00\x18\x00\x00\x00");
    let err = failure(&bpfkit(&["btf", "dump", short.path()]));
    assert_eq!(err, format!("bpfkit: {}: BTF blob is 8 bytes long, shorter than the 24-byte header\n", short.path()));

    let missing = std::env::temp_dir().join(format!("bpfkit-cli-test-{}-missing", std::process::id()));
    let missing = missing.to_str().expect("UTF-8 temp path");
    let err = failure(&bpfkit(&["btf", "dump", missing]));
    assert!(err.starts_with(&format!("bpfkit: {missing}: ")), "{err}");
    assert_eq!(err.matches("os error").count(), 1, "the cause is said once: {err}");

    let file = TempFile::new("ids", &every_kind_bytes());
    let err = failure(&bpfkit(&["btf", "dump", file.path(), "--id", "26"]));
    assert_eq!(err, "bpfkit: no type with id 26 (ids are 1..=25)\n");
    let err = failure(&bpfkit(&["btf", "dump", file.path(), "--id", "0"]));
    assert_eq!(err, "bpfkit: type id 0 is void, which has no type record\n");
    let err = failure(&bpfkit(&["btf", "dump", file.path(), "--name", "nosuch"]));
    assert_eq!(err, "bpfkit: no type named 'nosuch'\n");
    // Usage errors are clap's (exit code 2).
    let out = bpfkit(&["btf", "dump", file.path(), "--id", "1", "--name", "s"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn closed_pipe_ends_quietly() {
    // Megabytes of output: far more than a pipe buffers, so bpfkit must be writing when the
    // reader goes away.
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, IntEncoding::SIGNED);
    let members: Vec<String> = (0..16).map(|i| format!("member_{i}")).collect();
    let specs: Vec<MemberSpec> =
        members.iter().enumerate().map(|(i, m)| MemberSpec::new(m, int, 4 * i as u32)).collect();
    for i in 0..20_000 {
        b.add_struct(&format!("s{i}"), 64, &specs);
    }
    let file = TempFile::new("big", &b.encode().expect("encode"));
    for json in [false, true] {
        let mut args = vec!["btf", "dump", file.path()];
        if json {
            args.push("--json");
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_bpfkit"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn bpfkit");
        let mut pipe = child.stdout.take().expect("stdout pipe");
        let mut head = [0u8; 256];
        pipe.read_exact(&mut head).expect("read the head of the output");
        drop(pipe);
        let out = child.wait_with_output().expect("wait for bpfkit");
        assert!(out.status.success(), "json={json}: {:?} {}", out.status, String::from_utf8_lossy(&out.stderr));
        assert!(out.stderr.is_empty(), "json={json}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn running_kernel() {
    if !Path::new("/sys/kernel/btf/vmlinux").exists() {
        println!("skipped: /sys/kernel/btf/vmlinux does not exist");
        return;
    }
    let text = stdout(&bpfkit(&["btf", "inspect"]));
    assert!(text.starts_with("file:            /sys/kernel/btf/vmlinux\n"), "{text}");
    let structs: usize = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("STRUCT"))
        .and_then(|n| n.trim().parse().ok())
        .expect("STRUCT count line");
    assert!(structs > 1000, "{text}");
    let dump = stdout(&bpfkit(&["btf", "dump", "--name", "task_struct"]));
    assert!(dump.lines().any(|l| l.starts_with('[') && l.contains("] STRUCT 'task_struct' size=")), "{dump}");
    let json = stdout(&bpfkit(&["btf", "dump", "--name", "task_struct", "--json"]));
    json::validate(&json).unwrap_or_else(|e| panic!("invalid JSON ({e}): {json}"));
    assert!(json.contains(r#""kind":"STRUCT","name":"task_struct""#), "{json}");

    // A module's BTF in sysfs is split on vmlinux without being told.
    let module = std::fs::read_dir("/sys/kernel/btf")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().is_some_and(|n| n != "vmlinux"));
    match module {
        Some(module) => {
            let module = module.to_str().expect("UTF-8 sysfs path");
            let text = stdout(&bpfkit(&["btf", "inspect", module]));
            assert!(text.contains("\nsplit on:        /sys/kernel/btf/vmlinux\n"), "{text}");
        }
        None => println!("no module BTF in /sys/kernel/btf: implicit vmlinux base not exercised"),
    }
}

/// A minimal ELF64 little-endian file: header, `payload` as section `.BTF`, `.shstrtab`, and
/// three section headers (null, `.BTF`, `.shstrtab`).
fn minimal_elf(payload: &[u8]) -> Vec<u8> {
    let shstrtab = b"\0.BTF\0.shstrtab\0";
    let payload_off = 64u64;
    let shstrtab_off = payload_off + payload.len() as u64;
    let sh_off = (shstrtab_off + shstrtab.len() as u64).next_multiple_of(8);
    let mut f = Vec::new();
    f.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0"); // 64-bit, LE, version 1
    f.extend_from_slice(&1u16.to_le_bytes()); // ET_REL
    f.extend_from_slice(&247u16.to_le_bytes()); // EM_BPF
    f.extend_from_slice(&1u32.to_le_bytes()); // version
    f.extend_from_slice(&[0; 16]); // entry, phoff
    f.extend_from_slice(&sh_off.to_le_bytes());
    f.extend_from_slice(&0u32.to_le_bytes()); // flags
    for half in [64u16, 0, 0, 64, 3, 2] {
        // ehsize, phentsize, phnum, shentsize, shnum, shstrndx
        f.extend_from_slice(&half.to_le_bytes());
    }
    f.extend_from_slice(payload);
    f.extend_from_slice(shstrtab);
    f.resize(sh_off as usize, 0);
    for (name, ty, off, size) in [
        (0u32, 0u32, 0u64, 0u64),
        (1, 1, payload_off, payload.len() as u64),
        (6, 3, shstrtab_off, shstrtab.len() as u64),
    ] {
        f.extend_from_slice(&name.to_le_bytes());
        f.extend_from_slice(&ty.to_le_bytes());
        f.extend_from_slice(&[0; 16]); // flags, addr
        f.extend_from_slice(&off.to_le_bytes());
        f.extend_from_slice(&size.to_le_bytes());
        f.extend_from_slice(&[0; 8]); // link, info
        f.extend_from_slice(&1u64.to_le_bytes()); // addralign
        f.extend_from_slice(&0u64.to_le_bytes()); // entsize
    }
    f
}

/// A strict JSON syntax check (RFC 8259), enough to trust hand-written output.
mod json {
    pub fn validate(s: &str) -> Result<(), String> {
        let mut p = Parser { b: s.as_bytes(), i: 0 };
        p.value()?;
        p.ws();
        if p.i == p.b.len() { Ok(()) } else { Err(format!("trailing data at byte {}", p.i)) }
    }

    struct Parser<'a> {
        b: &'a [u8],
        i: usize,
    }

    impl Parser<'_> {
        fn ws(&mut self) {
            while matches!(self.peek(), Some(b' ' | b'\n' | b'\r' | b'\t')) {
                self.i += 1;
            }
        }
        fn peek(&self) -> Option<u8> {
            self.b.get(self.i).copied()
        }
        fn err<T>(&self, what: &str) -> Result<T, String> {
            Err(format!("{what} at byte {}", self.i))
        }
        fn eat(&mut self, c: u8) -> Result<(), String> {
            self.ws();
            if self.peek() == Some(c) {
                self.i += 1;
                Ok(())
            } else {
                self.err(&format!("expected '{}'", c as char))
            }
        }
        fn value(&mut self) -> Result<(), String> {
            self.ws();
            match self.peek() {
                Some(b'{') => self.seq(b'}', |p| {
                    p.ws();
                    p.string()?;
                    p.eat(b':')?;
                    p.value()
                }),
                Some(b'[') => self.seq(b']', Parser::value),
                Some(b'"') => self.string(),
                Some(b'-' | b'0'..=b'9') => self.number(),
                _ => {
                    for lit in [&b"true"[..], b"false", b"null"] {
                        if self.b[self.i..].starts_with(lit) {
                            self.i += lit.len();
                            return Ok(());
                        }
                    }
                    self.err("expected a value")
                }
            }
        }
        /// `{...}` or `[...]`: the opening byte is current; items separated by commas.
        fn seq(&mut self, close: u8, item: impl Fn(&mut Self) -> Result<(), String>) -> Result<(), String> {
            self.i += 1;
            self.ws();
            if self.peek() == Some(close) {
                self.i += 1;
                return Ok(());
            }
            loop {
                item(self)?;
                self.ws();
                match self.peek() {
                    Some(b',') => self.i += 1,
                    Some(c) if c == close => {
                        self.i += 1;
                        return Ok(());
                    }
                    _ => return self.err("expected ',' or a closing bracket"),
                }
            }
        }
        fn string(&mut self) -> Result<(), String> {
            if self.peek() != Some(b'"') {
                return self.err("expected a string");
            }
            self.i += 1;
            loop {
                match self.peek() {
                    None => return self.err("unterminated string"),
                    Some(b'"') => {
                        self.i += 1;
                        return Ok(());
                    }
                    Some(b'\\') => {
                        self.i += 1;
                        match self.peek() {
                            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 1,
                            Some(b'u') => {
                                let hex = self.b.get(self.i + 1..self.i + 5).unwrap_or_default();
                                if hex.len() != 4 || !hex.iter().all(u8::is_ascii_hexdigit) {
                                    return self.err("bad \\u escape");
                                }
                                self.i += 5;
                            }
                            _ => return self.err("bad escape"),
                        }
                    }
                    Some(0..=0x1f) => return self.err("unescaped control character"),
                    Some(_) => self.i += 1,
                }
            }
        }
        fn number(&mut self) -> Result<(), String> {
            let start = self.i;
            if self.peek() == Some(b'-') {
                self.i += 1;
            }
            let digits = |p: &mut Self| {
                let from = p.i;
                while matches!(p.peek(), Some(b'0'..=b'9')) {
                    p.i += 1;
                }
                p.i - from
            };
            let int_start = self.i;
            let n = digits(self);
            if n == 0 || (n > 1 && self.b[int_start] == b'0') {
                self.i = start;
                return self.err("bad number");
            }
            if self.peek() == Some(b'.') {
                self.i += 1;
                if digits(self) == 0 {
                    return self.err("bad fraction");
                }
            }
            if matches!(self.peek(), Some(b'e' | b'E')) {
                self.i += 1;
                if matches!(self.peek(), Some(b'+' | b'-')) {
                    self.i += 1;
                }
                if digits(self) == 0 {
                    return self.err("bad exponent");
                }
            }
            Ok(())
        }
    }

    #[test]
    fn validator_rejects_what_it_should() {
        for good in ["[]", "[\n{\"a\":1,\"b\":[-0.5e3,\"x\\u00e9\"]}\n]\n", "{}", "\"\\\"\"", "[true,false,null]"] {
            assert_eq!(validate(good), Ok(()), "{good}");
        }
        for bad in ["[", "[1,]", "{\"a\"}", "\"\t\"", "[01]", "{a:1}", "[] []", "\"\\x\""] {
            assert!(validate(bad).is_err(), "{bad}");
        }
    }
}

#[test]
fn dump_reads_compressed_module_files() {
    let Some(sid) = corpus_kernel("sid") else {
        println!("skipped: {}", bpfkit_testkit::corpus::SKIPPED);
        return;
    };
    let plain = sid.join("modules/kernel/fs/btrfs/btrfs.ko");
    let xz = std::env::temp_dir().join(format!("bpfkit-cli-btrfs-{}.ko.xz", std::process::id()));
    let file = std::fs::File::create(&xz).unwrap();
    assert!(Command::new("xz").arg("-c").arg(&plain).stdout(file).status().unwrap().success());
    let base = sid.join("vmlinux");
    let (base, xz_s, plain_s) = (base.to_str().unwrap(), xz.to_str().unwrap(), plain.to_str().unwrap());
    let out = bpfkit(&["btf", "dump", xz_s, "--base", base, "--name", "btrfs_inode"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success() && text.contains("STRUCT 'btrfs_inode'"), "{text}");
    // The same as from the plain .ko.
    let plain_out = bpfkit(&["btf", "dump", plain_s, "--base", base, "--name", "btrfs_inode"]);
    assert_eq!(String::from_utf8_lossy(&plain_out.stdout), text);
    let inspect = bpfkit(&["btf", "inspect", xz_s, "--base", base]);
    assert!(String::from_utf8_lossy(&inspect.stdout).contains("Xz-compressed ELF"));
    // Built for another kernel than the running one: no implicit base, an error saying so.
    let out = bpfkit(&["btf", "dump", xz_s, "--name", "btrfs_inode"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--base"), "{}", String::from_utf8_lossy(&out.stderr));
    let _ = std::fs::remove_file(&xz);
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|ids| ids.split_whitespace().nth(1)) == Some("0")
    })
}

fn fixture(stem: &str) -> String {
    format!("{}/../../bpf/{stem}.bpf.o", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn load_reports_each_program_and_fails_on_a_rejection() {
    if !is_root() {
        assert!(std::env::var_os("BPFKIT_NO_SKIP").is_none(), "needs root");
        println!("skipped: needs root (loads BPF programs)");
        return;
    }
    let out = bpfkit(&["load", &fixture("bad"), &fixture("optional")]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!out.status.success(), "a rejected program must fail the command:\n{text}");
    assert!(text.contains("good_checked (SEC(\"tracepoint/syscalls/sys_enter_getppid\")): loaded"), "{text}");
    assert!(
        text.contains("bad_null_deref") && text.contains("REJECTED: R0 invalid mem access 'map_value_or_null'"),
        "{text}"
    );
    assert!(text.contains("optional_on") && text.contains("skipped: a `?` section"), "{text}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 program(s) rejected"));
    let out = bpfkit(&["load", &fixture("minimal"), "--json"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        r#"[{"object":"minimal.bpf.o","program":"count_getpid","section":"tracepoint/syscalls/sys_enter_getpid","status":"loaded"}]"#
    );
}

#[test]
fn load_reports_why_a_struct_ops_program_was_rejected() {
    if !is_root() {
        assert!(std::env::var_os("BPFKIT_NO_SKIP").is_none(), "needs root");
        println!("skipped: needs root (loads BPF programs)");
        return;
    }
    let out = bpfkit(&["load", &fixture("bad_ops")]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!out.status.success(), "{text}");
    // The verifier's reason for the program, not the map's creation error.
    assert!(
        text.contains("bad_ops_cong_avoid (SEC(\"struct_ops\")): REJECTED: R0 invalid mem access 'map_value_or_null'"),
        "{text}"
    );
    for other in ["bad_ops_ssthresh", "bad_ops_undo_cwnd"] {
        assert!(
            text.contains(&format!("{other} (SEC(\"struct_ops\")): skipped: struct_ops map bpfkit_bad_ops is not created: its program bad_ops_cong_avoid was rejected")),
            "{text}"
        );
    }
    let out = bpfkit(&["load", &fixture("bad_ops"), "--json"]);
    let json = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        json.contains(r#""program":"bad_ops_cong_avoid","section":"struct_ops","status":"rejected","reason":"R0 invalid mem access 'map_value_or_null'""#),
        "{json}"
    );
}

#[test]
fn kernel_lists_btf_kfuncs_and_struct_ops_types() {
    if !is_root() || !std::path::Path::new("/sys/kernel/btf/vmlinux").exists() {
        assert!(std::env::var_os("BPFKIT_NO_SKIP").is_none(), "needs root and kernel BTF");
        println!("skipped: needs root and /sys/kernel/btf/vmlinux");
        return;
    }
    let out = bpfkit(&["kernel"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        text.contains("vmlinux") && text.contains("struct task_struct *bpf_task_acquire(struct task_struct *p)"),
        "{text}"
    );
    assert!(text.lines().any(|l| l.trim() == "tcp_congestion_ops"), "{text}");
    let out = bpfkit(&["kernel", "--filter", "bpf_task_acquire", "--json"]);
    let json = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(json.contains(r#"{"name":"bpf_task_acquire","module":"vmlinux","prototype":"struct task_struct *bpf_task_acquire(struct task_struct *p)"}"#), "{json}");
}

/// A corpus kernel directory, fetched if needed; `None` under `BPFKIT_SKIP_CORPUS`.
fn corpus_kernel(name: &str) -> Option<std::path::PathBuf> {
    bpfkit_testkit::corpus::kernel_dir(name).unwrap_or_else(|e| panic!("corpus kernel {name}: {e}"))
}

#[test]
fn distill_then_relocate_onto_another_point_release() {
    let (Some(a), Some(b)) = (corpus_kernel("6.12"), corpus_kernel("6.12-prev")) else {
        println!("skipped: {}", bpfkit_testkit::corpus::SKIPPED);
        return;
    };
    let dir = std::env::temp_dir().join(format!("bpfkit-cli-distill-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let s = |p: &std::path::Path| p.to_str().unwrap().to_owned();
    let module = a.join("modules/kernel/net/netfilter/nf_conntrack.ko");
    let (va, vb) = (a.join("vmlinux"), b.join("vmlinux"));
    let distilled = dir.join("nf_conntrack.btf.o");
    let out = bpfkit(&["btf", "distill", &s(&module), "--base", &s(&va), "-o", &s(&distilled)]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("ELF with .BTF and .BTF.base") && text.contains("distilled base of"), "{text}");

    // Onto the other release: raw split BTF on its vmlinux, readable by `btf dump`.
    let relocated = dir.join("nf_conntrack.btf");
    let out = bpfkit(&["btf", "relocate", &s(&distilled), "--base", &s(&vb), "-o", &s(&relocated), "--map"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("distilled base types mapped onto") && text.contains("STRUCT 'sk_buff' ["), "{text}");
    let out = bpfkit(&["btf", "dump", &s(&relocated), "--base", &s(&vb), "--name", "nf_conn"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success() && text.contains("STRUCT 'nf_conn'"), "{text}");
    // The distilled file itself dumps relocated onto whichever --base it is given.
    let out = bpfkit(&["btf", "inspect", &s(&distilled), "--base", &s(&vb)]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success() && text.contains("relocated onto the base below"), "{text}");

    // A module without a distilled base has nothing to relocate.
    let out = bpfkit(&["btf", "relocate", &s(&module), "--base", &s(&va)]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success() && err.contains("has no distilled base (.BTF.base)"), "{err}");
    // Plain vmlinux is not split BTF.
    let out = bpfkit(&["btf", "distill", &s(&va), "-o", &s(&dir.join("x"))]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success() && err.contains("is not split BTF"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn relocation_failures_name_the_distilled_type() {
    let (Some(a), Some(sid)) = (corpus_kernel("6.12"), corpus_kernel("sid")) else {
        println!("skipped: {}", bpfkit_testkit::corpus::SKIPPED);
        return;
    };
    let dir = std::env::temp_dir().join(format!("bpfkit-cli-reloc-fail-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let s = |p: &std::path::Path| p.to_str().unwrap().to_owned();
    let module = a.join("modules/kernel/fs/btrfs/btrfs.ko");
    let (raw, base_out) = (dir.join("btrfs.split"), dir.join("btrfs.split.base"));
    let out = bpfkit(&["btf", "distill", &s(&module), "--base", &s(&a.join("vmlinux")), "-o", &s(&raw), "--raw"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(raw.is_file() && base_out.is_file());
    // A 6.12 btrfs embeds struct inode by value; 7.x's inode has another size.
    let distilled = dir.join("btrfs.btf.o");
    let elf = bpfkit(&["btf", "distill", &s(&module), "--base", &s(&a.join("vmlinux")), "-o", &s(&distilled)]);
    assert!(elf.status.success());
    let out = bpfkit(&["btf", "relocate", &s(&distilled), "--base", &s(&sid.join("vmlinux"))]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "relocating 6.12's btrfs onto 7.x should fail");
    assert!(
        err.contains("match no type of the base")
            && err.contains("STRUCT 'inode'")
            && err.contains("embedded by value"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Tests that register the `bpfkit_reno` congestion control run one at a time.
static TCP_CC: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Whether a root-only test can run here; prints why not (a failure under `BPFKIT_NO_SKIP`).
fn root_or_skip(test: &str) -> bool {
    if is_root() {
        return true;
    }
    bpfkit_testkit::skip::skip(test, "needs root (loads BPF programs)").unwrap_or_else(|e| panic!("{e}"));
    false
}

const AVAILABLE_CC: &str = "/proc/sys/net/ipv4/tcp_available_congestion_control";

fn reno_available() -> bool {
    std::fs::read_to_string(AVAILABLE_CC).unwrap_or_default().split_whitespace().any(|n| n == "bpfkit_reno")
}

#[test]
fn run_attaches_prints_counters_and_detaches() {
    if !root_or_skip("run_attaches_prints_counters_and_detaches") {
        return;
    }
    let me = std::process::id().to_string();
    let global = format!("target_tgid={me}");
    let child = Command::new(env!("CARGO_BIN_EXE_bpfkit"))
        .args(["run", &fixture("minimal"), "--global", &global, "--interval", "0.3", "--duration", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // getpid(2) from this process is what the program counts (std::process::id calls it).
    let start = std::time::Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < std::time::Duration::from_millis(1700) {
        calls += u64::from(std::process::id() > 0);
    }
    let out = child.wait_with_output().unwrap();
    let text = stdout(&out);
    assert!(text.contains("attached program count_getpid (tracepoint/syscalls/sys_enter_getpid)"), "{text}");
    let hits: Vec<u64> =
        text.lines().filter_map(|l| l.trim().strip_prefix("hits = ")).map(|v| v.parse().unwrap()).collect();
    assert!(hits.len() >= 2, "{text}");
    assert!(*hits.last().unwrap() > 0, "no getpid counted in {calls} calls:\n{text}");
    assert!(hits.windows(2).all(|w| w[0] <= w[1]), "{text}");
    assert!(text.trim_end().ends_with("detached 1 attachment(s)"), "{text}");

    // Bad settings are usage errors naming the global.
    let err = failure(&bpfkit(&["run", &fixture("minimal"), "--global", "target_tgid=x", "--duration", "1"]));
    assert!(err.contains("--global target_tgid: 'x' is not an integer"), "{err}");
    let err = failure(&bpfkit(&["run", &fixture("minimal"), "--global", "nope=1", "--duration", "1"]));
    assert!(err.contains("no such global") && err.contains("target_tgid"), "{err}");
}

#[test]
fn run_registers_struct_ops_while_running() {
    if !root_or_skip("run_registers_struct_ops_while_running") {
        return;
    }
    let _serial = TCP_CC.lock().unwrap_or_else(|e| e.into_inner());
    let mut child = Command::new(env!("CARGO_BIN_EXE_bpfkit"))
        .args(["run", &fixture("tcp_cc"), "--duration", "3"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while !reno_available() && start.elapsed() < std::time::Duration::from_secs(3) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let registered = reno_available();
    // Ctrl-C detaches.
    let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
    let status = child.wait().unwrap();
    let mut text = String::new();
    child.stdout.take().unwrap().read_to_string(&mut text).unwrap();
    assert!(registered, "bpfkit_reno never appeared while `bpfkit run` ran:\n{text}");
    assert!(status.success(), "{text}");
    assert!(text.contains("registered struct_ops bpfkit_reno (tcp_congestion_ops)"), "{text}");
    assert!(text.contains("runs as a member of its struct_ops map"), "{text}");
    assert!(!reno_available(), "still registered after `bpfkit run` exited");
}

#[test]
fn struct_ops_register_list_unregister() {
    if !root_or_skip("struct_ops_register_list_unregister") {
        return;
    }
    let _serial = TCP_CC.lock().unwrap_or_else(|e| e.into_inner());
    // A .struct_ops.link map needs somewhere to pin its link.
    let err = failure(&bpfkit(&["struct-ops", "register", &fixture("tcp_cc")]));
    assert!(err.contains("bpfkit_reno is a .struct_ops.link map") && err.contains("--pin"), "{err}");
    assert!(!reno_available());

    let fs = bpfkit_testkit::reference::BpfFs::mount("cli-struct-ops").unwrap();
    let dir = fs.path().join("ops");
    let text = stdout(&bpfkit(&["struct-ops", "register", &fixture("tcp_cc"), "--pin", dir.to_str().unwrap()]));
    assert!(text.contains("registered bpfkit_reno: link pinned at"), "{text}");
    assert!(reno_available(), "registered, yet not in {AVAILABLE_CC}");

    let list = stdout(&bpfkit(&["struct-ops", "list"]));
    let line = list.lines().find(|l| l.contains("bpfkit_reno")).unwrap_or_else(|| panic!("{list}"));
    assert!(line.contains("tcp_congestion_ops") && line.contains("link ") && line.ends_with("registered"), "{line}");
    let json = stdout(&bpfkit(&["struct-ops", "list", "--json"]));
    json::validate(json.trim()).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert!(
        json.contains(r#""name":"bpfkit_reno","type":"tcp_congestion_ops","module":null,"link_based":true"#),
        "{json}"
    );

    let text = stdout(&bpfkit(&["struct-ops", "unregister", "bpfkit_reno"]));
    assert!(text.contains("unregistered bpfkit_reno") && text.contains("detached its link"), "{text}");
    assert!(!reno_available(), "still registered after unregister");
    let err = failure(&bpfkit(&["struct-ops", "unregister", "bpfkit_reno"]));
    assert!(err.contains("struct_ops map \"bpfkit_reno\" not found"), "{err}");
    let _ = std::fs::remove_file(dir.join("bpfkit_reno"));
}

#[test]
fn demo_runs_a_bpf_congestion_control_over_loopback() {
    if !root_or_skip("demo_runs_a_bpf_congestion_control_over_loopback") {
        return;
    }
    let _serial = TCP_CC.lock().unwrap_or_else(|e| e.into_inner());
    let text = stdout(&bpfkit(&["demo"]));
    assert!(text.contains("Kernel BTF") && text.contains("kfuncs callable from BPF"), "{text}");
    assert!(text.contains("tcp_congestion_ops"), "{text}");
    let acks: u64 = text
        .lines()
        .find_map(|l| l.split("cong_avoid on ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .map(|n| n.replace(',', "").parse().unwrap())
        .unwrap_or_else(|| panic!("{text}"));
    assert!(acks > 0, "{text}");
    assert!(text.contains("init 1 time(s)"), "{text}");
    assert!(text.contains("unregistered: tcp_available_congestion_control"), "{text}");
    // Piped output carries no colour codes.
    assert!(!text.contains('\x1b'), "{text}");
    assert!(!reno_available());
}

#[test]
fn dump_format_c_prints_a_header() {
    let file = TempFile::new("every-kind.btf", &every_kind_bytes());
    let text = stdout(&bpfkit(&["btf", "dump", file.path(), "--format", "c"]));
    assert!(text.starts_with("#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n"), "{text}");
    assert!(
        text.contains("preserve_access_index") && text.trim_end().ends_with("#endif /* __VMLINUX_H__ */"),
        "{text}"
    );
    // The same BTF as raw output names the same structs.
    let raw = stdout(&bpfkit(&["btf", "dump", file.path()]));
    for line in raw.lines().filter(|l| l.contains("] STRUCT '")) {
        let name = line.split('\'').nth(1).unwrap();
        assert!(text.contains(&format!("struct {name} {{")), "struct {name} missing from:\n{text}");
    }
    let err = failure(&bpfkit(&["btf", "dump", file.path(), "--format", "c", "--name", "x"]));
    assert!(err.contains("--format c prints every type"), "{err}");
    let err = failure(&bpfkit(&["btf", "dump", "--module", "no_such_module_here", "--format", "c"]));
    assert!(err.contains("/sys/kernel/btf/no_such_module_here"), "{err}");
}
