//! The project's test kernel module (`testmod/`), built for a given kernel in the sid chroot and
//! cached by kernel version and source hash, so an unchanged module is never rebuilt.

use std::fs;
use std::path::{Path, PathBuf};

use crate::cache::{self, Fnv};
use crate::chroot::SidRoot;
use crate::error::{Error, Result};

/// The module's name, as `insmod` and `/sys/kernel/btf/` know it.
pub const NAME: &str = "bpfkit_testmod";

/// The module built for `kernel_version`, from the sources in the repository's `testmod/`.
pub fn build(root: &SidRoot, kernel_version: &str) -> Result<PathBuf> {
    let src = cache::repo_root().join("testmod");
    let sources = sources(&src)?;
    let mut hash = Fnv::new();
    for (name, data) in &sources {
        hash.add(name.as_bytes());
        hash.add(&[0]);
        hash.add(data);
        hash.add(&(data.len() as u64).to_le_bytes());
    }
    let out_dir = cache::root()?.join("vm/testmod").join(kernel_version).join(format!("{:016x}", hash.0));
    let ko = out_dir.join(format!("{NAME}.ko"));
    if ko.is_file() {
        return Ok(ko);
    }

    let scratch_name = format!("build/testmod-{}", std::process::id());
    let scratch = root.path().join(&scratch_name);
    cache::remove(&scratch)?;
    cache::mkdirs(&scratch)?;
    for (name, data) in &sources {
        let dest = scratch.join(name);
        fs::write(&dest, data).map_err(|e| Error::io("write", &dest, e))?;
    }
    let made = root.sh(&format!("make -s -C {} M=/{scratch_name} modules", SidRoot::kbuild_dir(kernel_version)));
    let built = scratch.join(format!("{NAME}.ko"));
    let result = made.and_then(|_| {
        cache::mkdirs(&out_dir)?;
        let part = out_dir.join(format!("{NAME}.ko.part"));
        fs::copy(&built, &part).map_err(|e| Error::io("copy", &built, e))?;
        fs::rename(&part, &ko).map_err(|e| Error::io("rename", &part, e))
    });
    cache::remove(&scratch)?;
    result.map(|()| ko)
}

/// The module's source files (`*.c`, `*.h`, `Makefile`, `Kbuild`), sorted by name.
fn sources(dir: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| Error::io("read directory", dir, e))? {
        let path = entry.map_err(|e| Error::io("read directory", dir, e))?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else { continue };
        let wanted = name.ends_with(".c") || name.ends_with(".h") || name == "Makefile" || name == "Kbuild";
        if wanted && path.is_file() {
            let data = fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
            files.push((name, data));
        }
    }
    if files.is_empty() {
        return Err(Error::Module { name: NAME.into(), why: format!("no sources in {}", dir.display()) });
    }
    files.sort();
    Ok(files)
}
