//! Names for stack frames, found in userspace with blazesym from the ELF
//! symbol tables of the mapped files (Rust and C++ names demangled; Go
//! binaries keep an ELF symbol table too), cached per file and offset.
//!
//! A file is only used when it is still the one that ran: when the
//! mapping recorded a build id and the file on disk has another (or is
//! gone), its frames keep whatever names they already had (those a
//! recording stored when it was made) instead of getting wrong ones.

use std::{collections::HashMap, sync::Arc};

use blazesym::symbolize::{
    Input, Symbolizer as Blazesym,
    source::{Elf, Source},
};

use super::{Mapping, ProcessMaps, Symbol, UserStack};

/// A stack already named: the same addresses read against the same maps
/// (the `Arc`, kept alive here so that its address is not reused).
type NamedStacks = HashMap<(usize, Vec<u64>), (Arc<ProcessMaps>, Vec<Option<Symbol>>)>;

/// Symbolizes stacks, caching what it learns for the whole run.
pub struct Symbolizer {
    blazesym: Blazesym,
    /// The build id of each file on disk now (`None`: none, or unreadable).
    on_disk: HashMap<Arc<str>, Option<Arc<[u8]>>>,
    /// (file, offset looked up) → its function.
    names: HashMap<(Arc<str>, u64), Option<Symbol>>,
    /// Whole stacks already named: eBPF mode hands one stack, with one
    /// maps `Arc`, to every syscall that made it (a hot loop's thousands).
    stacks: NamedStacks,
}

impl Default for Symbolizer {
    fn default() -> Self {
        Self {
            blazesym: Blazesym::builder()
                .enable_code_info(false)
                .enable_inlined_fns(false)
                .enable_demangling(true)
                .build(),
            on_disk: HashMap::new(),
            names: HashMap::new(),
            stacks: HashMap::new(),
        }
    }
}

/// Bounds the name cache: a long run over many binaries starts it over
/// rather than growing without end.
const MAX_NAMES: usize = 1 << 18;
/// Bounds the whole-stack cache likewise.
const MAX_STACKS: usize = 1 << 14;

impl Symbolizer {
    /// Fills in `stack.symbols` from the files its mappings name, keeping a
    /// frame's existing name where the file cannot tell.
    pub fn symbolize(&mut self, stack: &mut UserStack) {
        let Some(maps) = stack.maps.clone() else {
            return;
        };
        // Names stored with the stack (a recording's) are kept where the
        // files cannot tell: only a stack without any is looked up whole.
        let key = stack
            .symbols
            .is_none()
            .then(|| (Arc::as_ptr(&maps) as usize, stack.ips.clone()));
        if let Some((_, names)) = key.as_ref().and_then(|key| self.stacks.get(key)) {
            stack.symbols = Some(names.clone());
            return;
        }
        let mut symbols = stack
            .symbols
            .take()
            .filter(|s| s.len() == stack.ips.len())
            .unwrap_or_else(|| vec![None; stack.ips.len()]);
        for (i, (&ip, slot)) in stack.ips.iter().zip(symbols.iter_mut()).enumerate() {
            let Some(mapping) = maps.find(ip) else {
                continue;
            };
            // A return address is just past its call: look up the call,
            // which may be the last instruction of the function.
            let back = u64::from(i > 0);
            let offset = mapping.file_offset(ip).saturating_sub(back);
            if let Some(sym) = self.lookup(mapping, offset) {
                *slot = Some(Symbol {
                    name: sym.name,
                    offset: sym.offset + back,
                });
            }
        }
        if let Some(key) = key {
            if self.stacks.len() >= MAX_STACKS {
                self.stacks.clear();
            }
            self.stacks
                .insert(key, (Arc::clone(&maps), symbols.clone()));
        }
        stack.symbols = Some(symbols);
    }

    /// The function at `offset` of `mapping`'s file, if that file is still
    /// the one that was mapped.
    fn lookup(&mut self, mapping: &Mapping, offset: u64) -> Option<Symbol> {
        let on_disk = self.on_disk.entry(mapping.path.clone()).or_insert_with(|| {
            blazesym::helper::read_elf_build_id(&*mapping.path)
                .ok()
                .flatten()
                .map(|id| Arc::from(&*id))
        });
        if mapping.build_id.is_some() && *on_disk != mapping.build_id {
            return None;
        }
        let key = (mapping.path.clone(), offset);
        if let Some(known) = self.names.get(&key) {
            return known.clone();
        }
        let src = Source::Elf(Elf::new(&*mapping.path));
        let found = self
            .blazesym
            .symbolize_single(&src, Input::FileOffset(offset))
            .ok()
            .and_then(|s| s.into_sym())
            .map(|sym| Symbol {
                name: Arc::from(&*sym.name),
                offset: sym.offset as u64,
            });
        if self.names.len() >= MAX_NAMES {
            self.names.clear();
        }
        self.names.insert(key, found.clone());
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stacks::maps::MapsReader;

    #[inline(never)]
    fn a_known_function() -> u64 {
        std::hint::black_box(a_known_function as *const () as usize as u64)
    }

    #[test]
    fn names_own_functions_and_keeps_names_when_the_file_changed() {
        let ip = a_known_function() + 2;
        let maps = Arc::new(MapsReader::default().read(std::process::id()).unwrap());
        let mut stack = UserStack {
            ips: vec![ip],
            truncated: false,
            maps: Some(maps.clone()),
            symbols: None,
        };
        let mut symbolizer = Symbolizer::default();
        symbolizer.symbolize(&mut stack);
        let sym = stack.symbols.as_ref().unwrap()[0].clone().unwrap();
        assert!(sym.name.ends_with("a_known_function"), "{}", sym.name);
        assert_eq!(sym.offset, 2);
        // The same stack again is named from the whole-stack cache, alike.
        let named = stack.symbols.take();
        symbolizer.symbolize(&mut stack);
        assert_eq!(stack.symbols, named);
        assert_eq!(symbolizer.stacks.len(), 1);

        // Another build of the file: its names are not this one's, and a
        // name already known (stored in a recording) stays.
        let mut changed = (*maps).clone();
        for m in &mut changed.mappings {
            m.build_id = Some(Arc::from(&b"another build"[..]));
        }
        let stored = Symbol {
            name: "stored_name".into(),
            offset: 7,
        };
        let mut stack = UserStack {
            ips: vec![ip, ip],
            truncated: false,
            maps: Some(Arc::new(changed)),
            symbols: Some(vec![Some(stored.clone()), None]),
        };
        symbolizer.symbolize(&mut stack);
        assert_eq!(stack.symbols.unwrap(), [Some(stored), None]);
    }
}
