//! Which struct_ops programs a load needs, decided as libbpf decides it: a struct_ops program
//! is loaded exactly when a struct_ops map that will be created points a member at it. One
//! that only uncreated maps (`?.struct_ops`, `autocreate` off) point at is not loaded: it would
//! have nothing to attach to. One that user space unhooked before load (a member set to
//! `NULL` or to another program) was turned off when it was unhooked, and stays off unless
//! another member still uses it.

use crate::map::MapKind;
use crate::object::Object;

impl Object {
    /// The struct_ops maps whose members point at `program`, with whether each is created.
    pub fn struct_ops_users<'a>(&'a self, program: &'a str) -> impl Iterator<Item = (&'a str, bool)> + 'a {
        self.maps.iter().filter_map(move |m| match &m.kind {
            MapKind::StructOps { funcs, .. } if funcs.iter().any(|f| f.program == program) => {
                Some((m.name.as_str(), m.autocreate))
            }
            _ => None,
        })
    }

    /// Sets `autoload` of every struct_ops program some struct_ops map points at: on when one
    /// of those maps is created, off otherwise. Programs no map points at keep theirs.
    pub fn adjust_struct_ops_autoload(&mut self) {
        let decisions: Vec<(usize, bool)> = (0..self.programs.len())
            .filter(|&i| self.programs[i].is_struct_ops())
            .filter_map(|i| {
                let mut users = self.struct_ops_users(&self.programs[i].name).peekable();
                users.peek()?;
                Some((i, users.any(|(_, created)| created)))
            })
            .collect();
        for (i, load) in decisions {
            self.programs[i].autoload = load;
        }
    }
}
