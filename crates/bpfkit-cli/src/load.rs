//! `bpfkit load OBJECT...`: load every program and create every map of each object without
//! attaching anything (like `bpftool prog loadall`), and say per program whether the kernel
//! accepted it and, if not, the verifier's reason. A rejected program does not hide the others:
//! it is set aside and the object loaded again without it, until the rest loads.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use bpfkit::{Error, OpenObject};

use crate::btf::json;

/// What became of one program.
pub enum Status {
    /// The kernel accepted it.
    Loaded,
    /// Not loaded by design (a `?` section, or a struct_ops program of a map not created).
    Skipped(String),
    /// The kernel (or the loader) refused it.
    Rejected(String),
}

/// One program's outcome.
pub struct Outcome {
    pub object: String,
    pub program: String,
    pub section: String,
    pub status: Status,
}

/// The line of a verifier log that says why (its last meaningful one), or the error itself.
fn reason(e: &Error) -> String {
    match e {
        Error::ProgramLoad { source, note, log, .. } => {
            let line = log
                .lines()
                .rev()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with("processed ") && !l.starts_with("verification time"))
                .unwrap_or("");
            if line.is_empty() { format!("{source}{note}") } else { format!("{line}{note}") }
        }
        other => other.to_string(),
    }
}

/// Loads `path`, setting aside rejected programs; pins the loaded programs under `pin` if given.
pub fn load(path: &Path, pin: Option<&Path>) -> Result<Vec<Outcome>, Error> {
    let object = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut rejected: Vec<(String, String)> = Vec::new();
    loop {
        let mut open = OpenObject::open(path)?;
        // A rejected struct_ops program takes its maps with it: a struct_ops map is created
        // with every program it points at, so those maps are set aside too.
        let mut dropped_maps: Vec<(String, String)> = Vec::new();
        for (name, _) in &rejected {
            open.program_mut(name)?.autoload = false;
            let users: Vec<String> = open.model().struct_ops_users(name).map(|(m, _)| m.to_owned()).collect();
            for map in users {
                open.map_mut(&map)?.autocreate = false;
                dropped_maps.push((map, name.clone()));
            }
        }
        let sections: Vec<(String, String, bool)> =
            open.model().programs.iter().map(|p| (p.name.clone(), p.section.clone(), p.autoload)).collect();
        let why_skipped = |program: &str, open: &bpfkit::bpfkit_obj::Object| {
            let mut users = open.struct_ops_users(program);
            match users.next() {
                Some((map, _)) => match dropped_maps.iter().find(|(m, _)| m == map) {
                    Some((_, culprit)) => {
                        format!("struct_ops map {map} is not created: its program {culprit} was rejected")
                    }
                    None => format!("a struct_ops program of map {map}, which is not created"),
                },
                None => "a `?` section or autoload off: loaded only when asked for".into(),
            }
        };
        let model = open.model().clone();
        match open.load() {
            Ok(obj) => {
                // What the load did differently from the object (BTF the kernel refused).
                for warning in obj.warnings() {
                    eprintln!("warning: {warning}");
                }
                let mut out = Vec::new();
                for (name, section, autoload) in sections {
                    let status = if let Some((_, why)) = rejected.iter().find(|(n, _)| *n == name) {
                        Status::Rejected(why.clone())
                    } else if obj.program(&name).is_ok() {
                        if let Some(dir) = pin {
                            obj.program(&name)?.pin(dir.join(&name))?;
                        }
                        Status::Loaded
                    } else if !autoload && model.struct_ops_users(&name).next().is_none() {
                        Status::Skipped("a `?` section: loaded only when asked for".into())
                    } else {
                        Status::Skipped(why_skipped(&name, &model))
                    };
                    out.push(Outcome { object: object.clone(), program: name, section, status });
                }
                return Ok(out);
            }
            Err(e @ Error::ProgramLoad { .. }) => {
                let Error::ProgramLoad { program, .. } = &e else { unreachable!() };
                if rejected.iter().any(|(n, _)| n == program) {
                    return Err(e);
                }
                rejected.push((program.clone(), reason(&e)));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Prints outcomes as text or JSON; returns whether no program was rejected.
pub fn print(outcomes: &[Outcome], as_json: bool, out: &mut impl Write) -> io::Result<bool> {
    if as_json {
        out.write_all(b"[")?;
        for (i, o) in outcomes.iter().enumerate() {
            out.write_all(if i == 0 { b"{\"object\":" } else { b",{\"object\":" })?;
            json::string(out, &o.object)?;
            out.write_all(b",\"program\":")?;
            json::string(out, &o.program)?;
            out.write_all(b",\"section\":")?;
            json::string(out, &o.section)?;
            let (status, why) = match &o.status {
                Status::Loaded => ("loaded", None),
                Status::Skipped(w) => ("skipped", Some(w)),
                Status::Rejected(w) => ("rejected", Some(w)),
            };
            write!(out, ",\"status\":\"{status}\"")?;
            if let Some(w) = why {
                out.write_all(b",\"reason\":")?;
                json::string(out, w)?;
            }
            out.write_all(b"}")?;
        }
        out.write_all(b"]\n")?;
    } else {
        let style = crate::style::Style::stdout();
        for o in outcomes {
            let (what, why) = match &o.status {
                Status::Loaded => (style.good("loaded"), None),
                Status::Skipped(w) => (style.dim("skipped"), Some(w)),
                Status::Rejected(w) => (style.bad("REJECTED"), Some(w)),
            };
            write!(out, "{}: {} (SEC(\"{}\")): {what}", o.object, o.program, o.section)?;
            match why {
                Some(w) => writeln!(out, ": {w}")?,
                None => writeln!(out)?,
            }
        }
    }
    Ok(!outcomes.iter().any(|o| matches!(o.status, Status::Rejected(_))))
}

/// The pin directory for one object of several (`DIR/<object name>`), created.
pub fn pin_dir(root: &Path, object: &Path, several: bool) -> io::Result<PathBuf> {
    let dir = if several {
        root.join(
            object.file_name().map(|n| n.to_string_lossy().replace(".bpf.o", "").replace(".o", "")).unwrap_or_default(),
        )
    } else {
        root.to_path_buf()
    };
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
