//! The gzip reader on real files, against `zcat`: the running kernel's `/proc/config.gz`, and
//! a file `gzip -9` makes of this test binary (names and all header fields set).

use std::process::Command;

fn zcat(path: &str) -> Option<Vec<u8>> {
    let out = Command::new("zcat").arg(path).output().ok()?;
    out.status.success().then_some(out.stdout)
}

#[test]
fn decompresses_what_zcat_does() {
    let mut checked = 0;
    if std::path::Path::new("/proc/config.gz").exists() {
        let gz = std::fs::read("/proc/config.gz").expect("read /proc/config.gz");
        let ours = bpfkit_btf::gzip::decompress(&gz, 64 << 20).expect("decompress /proc/config.gz");
        assert_eq!(Some(ours), zcat("/proc/config.gz"), "/proc/config.gz");
        checked += 1;
    } else {
        eprintln!("SKIP /proc/config.gz: this kernel has no CONFIG_IKCONFIG_PROC");
    }
    // A named file (FNAME set) of a few MiB, compressed by gzip itself.
    let me = std::env::current_exe().expect("test binary path");
    let dir = std::env::temp_dir().join(format!("bpfkit-gzip-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let copy = dir.join("payload");
    std::fs::copy(&me, &copy).expect("copy");
    let status = Command::new("gzip").args(["-9", "-k", "-f"]).arg(&copy).status();
    match status {
        Ok(s) if s.success() => {
            let gz = std::fs::read(dir.join("payload.gz")).expect("read payload.gz");
            let ours = bpfkit_btf::gzip::decompress(&gz, 1 << 30).expect("decompress payload.gz");
            assert_eq!(ours, std::fs::read(&copy).expect("read payload"));
            assert!(bpfkit_btf::gzip::decompress(&gz, ours.len() - 1).is_err(), "the limit holds");
            checked += 1;
        }
        _ => eprintln!("SKIP gzip -9: no gzip command"),
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(checked > 0 || std::env::var_os("BPFKIT_NO_SKIP").is_none(), "nothing to check");
}
