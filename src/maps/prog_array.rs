//! `PROG_ARRAY`: the table of programs `bpf_tail_call` jumps through.
//!
//! Slots hold loaded programs ([`crate::Vm`]), set and cleared by the host.
//! As in the kernel, all programs of one array have one program type: the
//! type of the first program stored fixes it. (The kernel also requires
//! them to have passed verification; bpfbox's verifier comes later, so any
//! loaded program is accepted for now.) A program in its own array makes a
//! reference cycle that lives until the host clears the slot, as in the
//! kernel.

use super::{Map, MapError, Storage};
use crate::Vm;
use bpfbox_abi::{MapDef, ProgramType};
use std::sync::{Arc, RwLock};

/// The slots of a program array.
pub(super) struct ProgArray {
    slots: RwLock<Vec<Option<Arc<Vm>>>>,
    program_type: RwLock<Option<ProgramType>>,
}

impl ProgArray {
    pub(super) fn new(def: &MapDef) -> ProgArray {
        ProgArray {
            slots: RwLock::new(vec![None; def.max_entries as usize]),
            program_type: RwLock::new(None),
        }
    }

    /// The program in slot `index`.
    pub(super) fn get(&self, index: u32) -> Option<Arc<Vm>> {
        let slots = self.slots.read().unwrap_or_else(|e| e.into_inner());
        slots.get(index as usize).cloned().flatten()
    }

    /// The stored slot indices, as keys.
    pub(super) fn keys(&self) -> Vec<Vec<u8>> {
        let slots = self.slots.read().unwrap_or_else(|e| e.into_inner());
        (0..slots.len() as u32)
            .filter(|&i| slots[i as usize].is_some())
            .map(|i| i.to_le_bytes().to_vec())
            .collect()
    }
}

/// Bytes a program array takes: one pointer per slot.
pub(super) fn memory(def: &MapDef) -> u64 {
    u64::from(def.max_entries).saturating_mul(std::mem::size_of::<Option<Arc<Vm>>>() as u64)
}

impl Map {
    fn prog_array(&self) -> Result<&ProgArray, MapError> {
        match &self.inner.storage {
            Storage::ProgArray(p) => Ok(p),
            _ => Err(self.unsupported("storing programs")),
        }
    }

    /// Stores `program` in slot `index` of a program array, for
    /// `bpf_tail_call`.
    ///
    /// # Errors
    /// [`MapError::Unsupported`] when this is not a program array,
    /// [`MapError::IndexOutOfRange`] past `max_entries`,
    /// [`MapError::ProgramType`] when the program's type differs from the
    /// array's.
    pub fn set_program(&self, index: u32, program: Arc<Vm>) -> Result<(), MapError> {
        let array = self.prog_array()?;
        let mut owner = array
            .program_type
            .write()
            .unwrap_or_else(|e| e.into_inner());
        match *owner {
            Some(expected) if expected != program.program_type() => {
                return Err(MapError::ProgramType {
                    expected: expected.name(),
                    got: program.program_type().name(),
                })
            }
            _ => {}
        }
        let mut slots = array.slots.write().unwrap_or_else(|e| e.into_inner());
        let slot = slots
            .get_mut(index as usize)
            .ok_or(MapError::IndexOutOfRange {
                index,
                max_entries: self.inner.def.max_entries,
            })?;
        *owner = Some(program.program_type());
        *slot = Some(program);
        Ok(())
    }

    /// Empties slot `index` of a program array; returns the program it held.
    ///
    /// # Errors
    /// As [`Map::set_program`].
    pub fn clear_program(&self, index: u32) -> Result<Option<Arc<Vm>>, MapError> {
        let array = self.prog_array()?;
        let mut slots = array.slots.write().unwrap_or_else(|e| e.into_inner());
        let slot = slots
            .get_mut(index as usize)
            .ok_or(MapError::IndexOutOfRange {
                index,
                max_entries: self.inner.def.max_entries,
            })?;
        Ok(slot.take())
    }

    /// The program in slot `index` of a program array (`None` when empty,
    /// out of range, or not a program array).
    pub fn program(&self, index: u32) -> Option<Arc<Vm>> {
        self.prog_array().ok()?.get(index)
    }
}
