//! The engine seam: everything the crate asks of a WebAssembly engine, in one place, so another backend (e.g.
//! wasmtime) could be added beside [`wasmi`](mod@wasmi) without touching the loader, the ABI checks or the
//! plugin glue. The rest of the crate uses only [`Engine`], [`Module`] and the types below, through the
//! [`Backend`] alias.

mod wasmi;

use crate::abi::EntryKind;
use crate::error::Stop;
use crate::host::{CallState, HostPermission, Ty};
use crate::limits::Limits;

/// The backend in use.
pub(crate) type Backend = wasmi::Wasmi;

/// The type of an import or export, as far as the ABI cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Extern {
    /// A function with these parameter and result types (`None`: a type the ABI never uses).
    Func(Option<(Vec<Ty>, Vec<Ty>)>),
    /// A linear memory: whether it is 64-bit.
    Memory { memory64: bool },
    /// A table.
    Table,
    /// A global.
    Global,
}

impl Extern {
    /// How it reads in an error message.
    pub(crate) fn describe(&self) -> String {
        match self {
            Extern::Func(Some((params, results))) => format!("a function {params:?} -> {results:?}"),
            Extern::Func(None) => "a function with types the ABI does not use".to_owned(),
            Extern::Memory { memory64: true } => "a 64-bit memory".to_owned(),
            Extern::Memory { memory64: false } => "a memory".to_owned(),
            Extern::Table => "a table".to_owned(),
            Extern::Global => "a global".to_owned(),
        }
    }
}

/// What the loader reads off a compiled module before linking it.
#[derive(Debug, Default)]
pub(crate) struct Inspection {
    /// Custom sections, in module order.
    pub(crate) sections: Vec<(String, Vec<u8>)>,
    /// Imports: module, name, type.
    pub(crate) imports: Vec<(String, String, Extern)>,
    /// Exports: name, type.
    pub(crate) exports: Vec<(String, Extern)>,
}

/// A WebAssembly engine: compiles (validating) and links modules.
pub(crate) trait Engine: Send + Sync + 'static {
    /// A compiled module, before linking.
    type Compiled: Send + Sync;
    /// A compiled module linked to the host functions it was granted: what calls instantiate.
    type Linked: Module;

    /// Compiles and validates `bytes`.
    fn compile(&self, bytes: &[u8]) -> Result<Self::Compiled, String>;

    /// Reads custom sections, imports and exports.
    fn inspect(&self, compiled: &Self::Compiled) -> Inspection;

    /// Links `compiled` to the ABI plumbing and the host functions `grants` grant, nothing else.
    fn link(&self, compiled: Self::Compiled, grants: &[HostPermission]) -> Result<Self::Linked, String>;
}

/// What one finished call used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CallCost {
    /// Fuel (about one unit per instruction).
    pub(crate) fuel: u64,
    /// Linear memory at the end of the call, in bytes.
    pub(crate) memory_bytes: u64,
}

/// A linked module: every call instantiates it afresh.
pub(crate) trait Module: Send + Sync + 'static {
    /// One call: a fresh instance with `state`, the input written into guest memory, `zelavis_call(kind,
    /// index, ...)` run within `limits`; returns the raw output (status byte first) and what the call cost.
    fn call(
        &self,
        state: CallState,
        limits: &Limits,
        kind: EntryKind,
        index: u32,
        input: &[u8],
    ) -> Result<(Vec<u8>, CallCost), Stop>;

    /// Instantiates only, with no call: what each call pays for its fresh instance (benchmarks).
    fn instantiate_only(&self, state: CallState, limits: &Limits) -> Result<(), Stop>;
}
