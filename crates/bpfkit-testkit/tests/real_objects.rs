//! Objects nobody in this project wrote (the scx schedulers, the BPF objects of Debian
//! packages; see `bpfkit_testkit::real_objects`), loaded on the host kernel with libbpf 1.8
//! (the sid chroot's `bpftool prog loadall`) and with bpfkit, side by side: the test fails when
//! libbpf loads an object that bpfkit does not. The same comparison runs in the VM on the sid
//! kernel (`vm.rs`, `real_objects_load`), where sched_ext exists.

mod common;

use bpfkit_testkit::chroot::SidRoot;
use bpfkit_testkit::kernel::SidKernel;
use bpfkit_testkit::real_objects;
use bpfkit_testkit::reference::{BpfFs, Bpftool};
use bpfkit_testkit::{corpus, skip};
use common::conformance::{self, Row};

#[test]
fn real_objects_load_as_with_libbpf() {
    let name = "real_objects_load_as_with_libbpf";
    let blocked = if !skip::is_root() {
        Some("needs root (bpf(2), the sid chroot)")
    } else if std::env::var_os("BPFKIT_SKIP_CORPUS").is_some_and(|v| v == "1") {
        Some(corpus::SKIPPED)
    } else {
        None
    };
    if let Some(reason) = blocked {
        skip::skip(name, reason).unwrap();
        return;
    }
    let kernel = SidKernel::fetch().expect("the sid kernel (for the chroot's headers)");
    let root = SidRoot::ensure(kernel.version()).expect("the sid chroot");
    let bpftool = Bpftool::new(&root).expect("the chroot's bpftool");
    let objects = real_objects::all(&root).expect("the real objects");
    let bpffs = BpfFs::mount("real-objects").expect("a private bpffs");
    let mut rows = Vec::with_capacity(objects.len());
    for object in &objects {
        // Pins by name land on the namespace's own bpffs, so objects that pin maps by name
        // find none left by another object.
        let libbpf = {
            let mut cmd = std::process::Command::new("unshare");
            let inner = bpftool.command(std::iter::empty::<&str>());
            cmd.args(["--mount", "--propagation", "private", "sh", "-c"])
                .arg("mount -t bpf bpf /sys/fs/bpf && exec \"$@\"")
                .arg("sh")
                .arg(inner.get_program())
                .args(inner.get_args());
            conformance::libbpf(cmd, &object.path, "/sys/fs/bpf/loaded")
        };
        // bpffs names cannot hold a dot.
        let pins = bpffs.path().join(object.name.replace(['/', '.'], "_"));
        std::fs::create_dir_all(&pins).expect("pin directory");
        let bpfkit = conformance::bpfkit(&object.path, &pins);
        rows.push(Row { name: object.name.clone(), origin: object.origin.clone(), libbpf, bpfkit });
    }
    let gaps = conformance::report(&format!("host kernel {}", std::env::consts::ARCH), &rows);
    assert!(gaps.is_empty(), "libbpf loads {} object(s) bpfkit does not:\n  {}", gaps.len(), gaps.join("\n  "));
}
