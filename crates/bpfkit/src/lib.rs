//! `bpfkit`: loads libbpf-style BPF objects into the kernel from Rust, with no C library
//! underneath.
//!
//! The layers, bottom up: [`sys`] (the `bpf(2)` and `perf_event_open(2)` syscalls behind safe
//! functions with owned fds: the only `unsafe` code of the crate), [`kernel_btf`] (the running
//! kernel's BTF, shared by every object of the process), then the object lifecycle:
//! [`OpenObject`] → [`Object`] with its [`Map`]s and [`Program`]s → [`Link`]s that detach on drop.
//! Loading applies CO-RE relocations against the registry (vmlinux, then module BTF), resolves
//! `__ksym`/`__kconfig` externs, and creates struct_ops maps after their programs
//! ([`Map::attach_struct_ops`]); [`sched_ext`] runs sched_ext schedulers, [`kfuncs`] lists what
//! the kernel offers. The ELF object model itself (sections, relocations, the CO-RE resolver,
//! BTF fixups) is `bpfkit-obj`, which makes no syscalls.
//!
//! ```no_run
//! use bpfkit::OpenObject;
//! let mut open = OpenObject::open("bpf/minimal.bpf.o")?;
//! open.set_global_as("target_tgid", &std::process::id())?;
//! let obj = open.load()?;
//! let link = obj.program("count_getpid")?.attach()?;
//! // SAFETY: getpid has no preconditions.
//! unsafe { libc::getpid() };
//! let count: Option<u64> = obj.map("counts")?.lookup_as(&0u32)?;
//! drop(link); // detached
//! # Ok::<(), bpfkit::Error>(())
//! ```
#![warn(missing_docs)]

mod arena;
mod attach;
mod error;
mod externs;
mod kallsyms;
mod kconfig;
pub mod kernel_btf;
pub mod kfuncs;
mod link;
mod load;
mod map;
mod object;
mod perfbuf;
mod pin;
mod program;
pub mod registered_ops;
pub mod ringbuf;
pub mod sched_ext;
mod struct_ops;
pub mod sys;
mod target;

pub use bpfkit_obj;
pub use error::{Error, Result};
pub use link::Link;
pub use map::{BPF_ANY, BPF_EXIST, BPF_NOEXIST, Map};
pub use object::{Object, OpenObject};
pub use perfbuf::{PerfBuffer, PerfConsumed};
pub use pin::DEFAULT_PIN_ROOT;
pub use program::{Iter, Program};
pub use ringbuf::RingBuffer;
pub use sys::pod::Pod;
pub use sys::{TestRun, TestRunResult};
