//! An attachment of a program, detached when dropped: a BPF link fd (the kernel detaches when the
//! last reference to it closes), a perf event with the program on it, or a legacy attachment
//! that needs an explicit detach.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use crate::error::{Error, Result};
use crate::pin::path_cstring;
use crate::sys;

/// An attached program. Dropping it detaches the program (unless the link was pinned, in which
/// case the pin keeps it alive).
#[derive(Debug)]
pub struct Link {
    kind: LinkKind,
    /// The program's name (for errors).
    program: String,
    /// `undo` already ran.
    detached: bool,
}

#[derive(Debug)]
pub(crate) enum LinkKind {
    /// A BPF link.
    Bpf(OwnedFd),
    /// A perf event (tracepoint, kprobe) carrying the program: through a `BPF_PERF_EVENT` link
    /// when the kernel has them, else attached with an ioctl and disabled on drop.
    PerfEvent { event: OwnedFd, link: Option<OwnedFd> },
    /// `BPF_PROG_ATTACH`: undone with `BPF_PROG_DETACH` on drop.
    ProgAttach { target: OwnedFd, prog: OwnedFd, attach_type: u32 },
    /// `SO_ATTACH_BPF` on a socket: undone with `SO_DETACH_BPF` on drop.
    Socket { socket: OwnedFd },
    /// A struct_ops map registered by writing its value: unregistered by deleting it.
    StructOps { map: OwnedFd },
}

impl Link {
    pub(crate) fn new(program: &str, kind: LinkKind) -> Link {
        Link { kind, program: program.to_owned(), detached: false }
    }

    /// The BPF link fd, for link kinds that have one (pinning, `BPF_LINK_UPDATE`, iterators).
    pub fn link_fd(&self) -> Option<BorrowedFd<'_>> {
        match &self.kind {
            LinkKind::Bpf(fd) => Some(fd.as_fd()),
            LinkKind::PerfEvent { link: Some(fd), .. } => Some(fd.as_fd()),
            _ => None,
        }
    }

    /// Pins the link in a bpffs, so it stays attached after this process exits.
    pub fn pin(&self, path: impl AsRef<Path>) -> Result<()> {
        let fd = self.link_fd().ok_or_else(|| Error::Attach {
            program: self.program.clone(),
            target: None,
            why: "this attachment has no BPF link to pin (legacy attach)".into(),
        })?;
        let c = path_cstring(path.as_ref())?;
        sys::obj_pin(fd, &c)
            .map_err(|e| Error::sys(format!("pin link of {} at {}", self.program, path.as_ref().display()), e))
    }

    /// Replaces the attached program with `new` without a gap (`BPF_LINK_UPDATE`).
    pub fn update_program(&self, new: BorrowedFd<'_>) -> Result<()> {
        let fd = self.link_fd().ok_or_else(|| Error::Attach {
            program: self.program.clone(),
            target: None,
            why: "this attachment has no BPF link to update".into(),
        })?;
        sys::link_update(fd, new).map_err(|e| Error::sys(format!("update link of {}", self.program), e))
    }

    /// Replaces the struct_ops map a `.struct_ops.link` registration uses with `new` (another
    /// map of the same ops type), atomically: the kernel switches implementations with no gap.
    pub fn update_map(&self, new: &crate::Map) -> Result<()> {
        let fd = self.link_fd().ok_or_else(|| Error::Attach {
            program: self.program.clone(),
            target: None,
            why: "this registration has no BPF link (a plain .struct_ops map)".into(),
        })?;
        sys::link_update(fd, new.as_fd())
            .map_err(|e| Error::sys(format!("update struct_ops link of {} to {}", self.program, new.name()), e))
    }

    /// Lets go of the attachment without undoing it, where the kernel keeps it on its own: a
    /// plain struct_ops map stays registered (until `bpfkit struct-ops unregister`), a legacy
    /// `BPF_PROG_ATTACH` stays attached. A BPF link or perf event ends when its fd closes, unless
    /// pinned first; for those this is the same as dropping. The fds are closed either way.
    pub fn keep(mut self) {
        self.detached = true;
    }

    /// Detaches now (the same as dropping, with the error reported).
    pub fn detach(mut self) -> Result<()> {
        self.detached = true;
        self.undo()
    }

    fn undo(&self) -> Result<()> {
        let what = |e| Error::sys(format!("detach {}", self.program), e);
        match &self.kind {
            LinkKind::Bpf(_) => Ok(()),
            LinkKind::PerfEvent { event, link: None } => sys::perf_event_ioc_disable(event.as_fd()).map_err(what),
            LinkKind::PerfEvent { .. } => Ok(()),
            LinkKind::ProgAttach { target, prog, attach_type } => {
                sys::prog_detach(prog.as_fd(), target.as_fd(), *attach_type).map_err(what)
            }
            LinkKind::Socket { socket } => sys::sock::detach_bpf(socket.as_fd()).map_err(what),
            LinkKind::StructOps { map } => sys::MapFd::from_fd(map.try_clone().map_err(what)?)
                .and_then(|m| m.delete(&0u32.to_ne_bytes()))
                .map(drop)
                .map_err(what),
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        if !self.detached {
            if let Err(e) = self.undo() {
                log::warn!("{e}");
            }
        }
    }
}
