//! Pinning in a bpffs: maps, programs and links outlive the process under a path. libbpf's
//! `LIBBPF_PIN_BY_NAME` maps live at `<pin root>/<map name>` (default root `/sys/fs/bpf`) and are
//! reused by the next load when their definition matches.

use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::error::{Error, Result};

/// The default pin root, as libbpf's.
pub const DEFAULT_PIN_ROOT: &str = "/sys/fs/bpf";

/// `path` as the C string the kernel takes.
pub(crate) fn path_cstring(path: &Path) -> Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        Error::sys(
            format!("pin path {}", path.display()),
            io::Error::new(io::ErrorKind::InvalidInput, "contains a NUL byte"),
        )
    })
}

/// `<root>/<name>` as the C string the kernel takes, built in one allocation (`Path::join`
/// and a conversion take three): what a `LIBBPF_PIN_BY_NAME` map is pinned at and reused from.
pub(crate) fn pin_path(root: &Path, name: &str) -> Result<CString> {
    let root = root.as_os_str().as_bytes();
    let mut bytes = Vec::with_capacity(root.len() + name.len() + 2);
    bytes.extend_from_slice(root);
    if !root.is_empty() && !root.ends_with(b"/") {
        bytes.push(b'/');
    }
    bytes.extend_from_slice(name.as_bytes());
    CString::new(bytes).map_err(|_| {
        let shown = Path::new(OsStr::from_bytes(root)).join(name);
        Error::sys(
            format!("pin path {}", shown.display()),
            io::Error::new(io::ErrorKind::InvalidInput, "contains a NUL byte"),
        )
    })
}

/// The path a C string names, to show in messages.
pub(crate) fn as_path(path: &CStr) -> &Path {
    Path::new(OsStr::from_bytes(path.to_bytes()))
}

/// Why pinning at `path` may have failed, when the error suggests the directory is not on a
/// bpffs (the kernel pins only there).
pub(crate) fn hint(path: &Path, e: &io::Error) -> String {
    let dir = path.parent().unwrap_or(path);
    match e.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::EPERM) | Some(libc::EINVAL) => {
            format!(" (is a bpffs mounted at {}? mount -t bpf bpf {})", dir.display(), dir.display())
        }
        _ => String::new(),
    }
}
