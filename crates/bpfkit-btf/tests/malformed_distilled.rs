//! Corrupted distilled bases (`.BTF.base`) and split BTF on them: thousands of mutations of a real
//! module's distilled BTF (and of a hand-built one, when the corpus is skipped) must give typed
//! errors or consistent results, never a panic. The same check is the `distilled` fuzz target's.

#[path = "common/distilled_input.rs"]
mod distilled_input;

use std::sync::Arc;

use bpfkit_btf::{Btf, BtfBuilder, IntEncoding, MemberSpec, ModuleFile, distill};
use distilled_input::{check, encode};

/// A small xorshift generator: the mutations are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn hand_built() -> (Arc<Btf>, Btf) {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, IntEncoding::SIGNED);
    let lock = b.add_struct("spinlock", 4, &[MemberSpec::new("v", int, 0)]);
    b.add_struct("device", 64, &[MemberSpec::new("x", int, 0)]);
    b.add_fwd("file", false);
    b.add_enum("state", 4, false, &[("A", 0)]);
    let base = Arc::new(Btf::parse(b.encode().unwrap()).unwrap());
    let mut s = BtfBuilder::new_split(&base);
    let dev = base.find_by_name_kind("device", bpfkit_btf::Kind::Struct).unwrap();
    let p = s.add_ptr(dev);
    s.add_struct("mine", 16, &[MemberSpec::new("lock", lock, 0), MemberSpec::new("dev", p, 8)]);
    let split = Btf::parse_split(s.encode().unwrap(), base.clone()).unwrap();
    (base, split)
}

/// Writes `seed` as a fuzz seed when `BPFKIT_FUZZ_SEEDS` names a directory (fuzz/README.md).
fn write_seed(name: &str, seed: &[u8]) {
    if let Some(dir) = std::env::var_os("BPFKIT_FUZZ_SEEDS") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), seed).unwrap();
    }
}

/// Mutates the distilled base part (and sometimes the split) `rounds` times.
fn mutate(seed: &[u8], base_len: usize, rounds: usize, target: &Arc<Btf>) -> (usize, usize, usize) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut parsed, mut relocated, mut refused) = (0, 0, 0);
    for round in 0..rounds {
        let mut data = seed.to_vec();
        let flips = 1 + rng.below(4);
        for _ in 0..flips {
            // Mostly inside the distilled base (after the 4-byte length), past its header.
            let at = if round % 4 == 3 { 4 + rng.below(data.len() - 4) } else { 4 + rng.below(base_len) };
            match rng.below(3) {
                0 => data[at] ^= 1 << rng.below(8),
                1 => data[at] = rng.next() as u8,
                _ => data[at] = data[at].wrapping_add(1),
            }
        }
        if round % 50 == 49 {
            data.truncate(4 + rng.below(data.len() - 4));
        }
        let r = check(&data, target);
        parsed += r.parsed as usize;
        relocated += r.relocated as usize;
        refused += r.refused as usize;
    }
    (parsed, relocated, refused)
}

#[test]
fn corrupted_hand_built_distilled_base() {
    let (base, split) = hand_built();
    let d = distill(&split).unwrap();
    let seed = encode(d.base.raw_bytes(), d.split.raw_bytes());
    write_seed("hand-built", &seed);
    // The unmutated input relocates.
    assert!(check(&seed, &base).relocated);
    let (parsed, relocated, refused) = mutate(&seed, d.base.raw_bytes().len(), 4000, &base);
    println!("hand-built: of 4000 mutations {parsed} parsed, {relocated} relocated, {refused} refused by relocation");
    assert!(parsed > 0 && relocated > 0 && refused > 0, "mutations must reach every stage");
}

#[test]
fn corrupted_module_distilled_base() {
    let dirs = bpfkit_testkit::corpus::kernel_dir("6.12").unwrap_or_else(|e| panic!("corpus 6.12: {e}"));
    let Some(dir) = dirs else {
        println!("skipped: {}", bpfkit_testkit::corpus::SKIPPED);
        return;
    };
    let vmlinux = Arc::new(Btf::open(dir.join("vmlinux"), None).unwrap());
    let module = ModuleFile::open(dir.join("modules/kernel/net/netfilter/nf_conntrack.ko")).unwrap();
    let split = module.btf_on(Some(vmlinux.clone())).unwrap();
    let d = distill(&split).unwrap();
    let seed = encode(d.base.raw_bytes(), d.split.raw_bytes());
    write_seed("nf_conntrack", &seed);
    assert!(check(&seed, &vmlinux).relocated);
    let (parsed, relocated, refused) = mutate(&seed, d.base.raw_bytes().len(), 1500, &vmlinux);
    println!("nf_conntrack: of 1500 mutations {parsed} parsed, {relocated} relocated, {refused} refused by relocation");
    assert!(parsed > 0 && refused > 0);
}
