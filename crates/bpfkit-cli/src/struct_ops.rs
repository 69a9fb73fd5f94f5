//! `bpfkit struct-ops register|list|unregister`: struct_ops maps that outlive the command, like
//! bpftool's `struct_ops` commands.
//!
//! Where bpftool differs: it registers a `.struct_ops.link` map without a link directory and
//! the registration silently ends when bpftool exits; bpfkit refuses (give `--pin`, or use
//! `bpfkit run`). And bpftool cannot unregister a link-based map (deleting its element fails);
//! bpfkit detaches its link.

use std::io::Write;
use std::path::Path;

use bpfkit::OpenObject;
use bpfkit::bpfkit_obj::MapKind;
use bpfkit::registered_ops::{self, RegisteredOps};

use crate::btf::json;
use crate::error::CliError;
use crate::style::Style;

/// Loads `object` and registers each of its struct_ops maps so that it stays registered after
/// the command exits: plain maps by their element, link-based ones by a link pinned under `pin`.
pub fn register(object: &Path, pin: Option<&Path>, out: &mut impl Write) -> Result<(), CliError> {
    let style = Style::stdout();
    let open = OpenObject::open(object).map_err(|e| CliError::Object(object.to_owned(), e))?;
    let ops: Vec<(String, bool)> = open
        .model()
        .maps
        .iter()
        .filter_map(|m| match &m.kind {
            MapKind::StructOps { link, .. } => Some((m.name.clone(), *link)),
            _ => None,
        })
        .collect();
    if ops.is_empty() {
        return Err(CliError::Usage(format!("{} defines no struct_ops map", object.display())));
    }
    if let (Some((name, _)), None) = (ops.iter().find(|(_, link)| *link), pin) {
        return Err(CliError::Usage(format!(
            "{name} is a .struct_ops.link map: it stays registered only while its link exists; give --pin DIR (a bpffs directory) to keep it, or use `bpfkit run` to keep it while the command runs"
        )));
    }
    let obj = open.load().map_err(|e| CliError::Object(object.to_owned(), e))?;
    // All or nothing: every map registers before any is kept, so that a failure unregisters
    // the ones before it (dropping their links) instead of leaving them behind.
    let mut links = Vec::new();
    for (name, link_based) in &ops {
        links.push((name, *link_based, obj.map(name)?.attach_struct_ops()?));
    }
    if let Some(dir) = pin.filter(|_| links.iter().any(|(_, link_based, _)| *link_based)) {
        std::fs::create_dir_all(dir).map_err(|e| CliError::Write(dir.to_owned(), e))?;
        for (name, _, link) in links.iter().filter(|(_, link_based, _)| *link_based) {
            link.pin(dir.join(name))?;
        }
    }
    for (name, link_based, link) in links {
        match pin.filter(|_| link_based) {
            Some(dir) => {
                writeln!(out, "{} {name}: link pinned at {}", style.good("registered"), dir.join(name).display())?
            }
            None => writeln!(out, "{} {name}", style.good("registered"))?,
        }
        // A pinned link lives on through its pin; a plain map's registration stays by itself.
        link.keep();
    }
    Ok(())
}

/// Prints every struct_ops map of the kernel.
pub fn list(as_json: bool, out: &mut impl Write) -> Result<(), CliError> {
    let all = registered_ops::list()?;
    if as_json {
        out.write_all(b"[")?;
        for (i, ops) in all.iter().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            write_json(ops, out)?;
        }
        writeln!(out, "]")?;
        return Ok(());
    }
    let style = Style::stdout();
    if all.is_empty() {
        writeln!(out, "no struct_ops maps")?;
        return Ok(());
    }
    writeln!(
        out,
        "{}",
        style.bold(&format!("{:>6}  {:<16} {:<28} {:<20} {}", "MAP ID", "NAME", "OPS TYPE", "HOW", "STATE"))
    )?;
    for ops in &all {
        let ty = match (&ops.type_name, &ops.module) {
            (Some(t), Some(m)) => format!("{t} ({m})"),
            (Some(t), None) => t.clone(),
            (None, _) => "?".into(),
        };
        let how = match (ops.link_based, ops.link_id) {
            (true, Some(link)) => format!("link {link}"),
            (true, None) => "link-based, no link".into(),
            (false, _) => "map element".into(),
        };
        let state = if ops.registered { style.good("registered") } else { style.dim("not registered") };
        writeln!(out, "{:>6}  {:<16} {:<28} {:<20} {state}", ops.map_id, ops.name, ty, how)?;
    }
    Ok(())
}

fn write_json(o: &RegisteredOps, out: &mut impl Write) -> std::io::Result<()> {
    write!(out, "{{\"map_id\":{},\"name\":", o.map_id)?;
    json::string(out, &o.name)?;
    out.write_all(b",\"type\":")?;
    match &o.type_name {
        Some(t) => json::string(out, t)?,
        None => out.write_all(b"null")?,
    }
    out.write_all(b",\"module\":")?;
    match &o.module {
        Some(m) => json::string(out, m)?,
        None => out.write_all(b"null")?,
    }
    let link = o.link_id.map_or("null".to_owned(), |l| l.to_string());
    write!(out, ",\"link_based\":{},\"link_id\":{link},\"registered\":{}}}", o.link_based, o.registered)
}

/// Unregisters the struct_ops map named (or with kernel id) `which`.
pub fn unregister(which: &str, out: &mut impl Write) -> Result<(), CliError> {
    let ops = registered_ops::unregister(which)?;
    let how = match ops.link_id {
        Some(link) => format!("detached its link {link} (a pin of it, if any, can be removed now)"),
        None => "deleted its element".into(),
    };
    writeln!(out, "unregistered {} (map {}): {how}", ops.name, ops.map_id)?;
    Ok(())
}
