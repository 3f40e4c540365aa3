//! The wasmi backend: fuel metering (in slices, so the wall-clock deadline is checked while a guest runs), a
//! resource limiter for linear memory, and a linker holding only the granted host functions.

use std::time::Instant;

use wasmi::{
    Caller, Config, ExternType, Linker, Memory, ResourceLimiter, Store, TypedFunc, TypedResumableCall, ValType,
    errors::ErrorKind,
};
use wasmi_core::LimiterError;

use super::{CallCost, Engine, Extern, Inspection, Module};
use crate::abi::{self, EntryKind};
use crate::error::Stop;
use crate::host::{CallState, HostPermission, HostStop, IMPORTS, Ty};
use crate::limits::Limits;

/// Fuel given at a time: between slices the deadline is checked.
const FUEL_SLICE: u64 = 200_000;

/// The wasmi engine, configured for the sandbox.
pub(crate) struct Wasmi {
    engine: wasmi::Engine,
}

impl Default for Wasmi {
    fn default() -> Self {
        let mut config = Config::default();
        config.consume_fuel(true);
        Self {
            engine: wasmi::Engine::new(&config),
        }
    }
}

/// A compiled wasmi module with its linker.
pub(crate) struct Linked {
    engine: wasmi::Engine,
    module: wasmi::Module,
    linker: Linker<Ctx>,
}

/// The store data of one instance.
struct Ctx {
    state: CallState,
    limiter: MemoryLimiter,
}

/// Refuses linear memory past the limit and remembers that it did.
struct MemoryLimiter {
    limit: usize,
    denied: Option<usize>,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool, LimiterError> {
        if desired > self.limit {
            self.denied = Some(desired);
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool, LimiterError> {
        // Tables hold function references; a generous fixed bound keeps a guest from using them as memory.
        Ok(desired <= 100_000)
    }

    fn instances(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        8
    }

    fn memories(&self) -> usize {
        1
    }
}

fn abi_ty(ty: ValType) -> Option<Ty> {
    match ty {
        ValType::I32 => Some(Ty::I32),
        ValType::I64 => Some(Ty::I64),
        _ => None,
    }
}

fn extern_of(ty: &ExternType) -> Extern {
    match ty {
        ExternType::Func(f) => Extern::Func(
            f.params()
                .iter()
                .map(|t| abi_ty(*t))
                .collect::<Option<Vec<_>>>()
                .zip(f.results().iter().map(|t| abi_ty(*t)).collect::<Option<Vec<_>>>()),
        ),
        ExternType::Memory(m) => Extern::Memory { memory64: m.is_64() },
        ExternType::Table(_) => Extern::Table,
        ExternType::Global(_) => Extern::Global,
    }
}

impl Engine for Wasmi {
    type Compiled = wasmi::Module;
    type Linked = Linked;

    fn compile(&self, bytes: &[u8]) -> Result<wasmi::Module, String> {
        wasmi::Module::new(&self.engine, bytes).map_err(|e| e.to_string())
    }

    fn inspect(&self, compiled: &wasmi::Module) -> Inspection {
        Inspection {
            sections: compiled
                .custom_sections()
                .map(|s| (s.name().to_owned(), s.data().to_vec()))
                .collect(),
            imports: compiled
                .imports()
                .map(|i| (i.module().to_owned(), i.name().to_owned(), extern_of(i.ty())))
                .collect(),
            exports: compiled
                .exports()
                .map(|e| (e.name().to_owned(), extern_of(e.ty())))
                .collect(),
        }
    }

    fn link(&self, compiled: wasmi::Module, grants: &[HostPermission]) -> Result<Linked, String> {
        let mut linker = Linker::<Ctx>::new(&self.engine);
        for import in IMPORTS {
            if import.permission.is_none_or(|p| grants.contains(&p)) {
                define(&mut linker, import.name).map_err(|e| e.to_string())?;
            }
        }
        Ok(Linked {
            engine: self.engine.clone(),
            module: compiled,
            linker,
        })
    }
}

/// The guest memory of the instance calling a host function.
fn memory(caller: &Caller<'_, Ctx>) -> Result<Memory, wasmi::Error> {
    caller
        .get_export(abi::EXPORT_MEMORY)
        .and_then(wasmi::Extern::into_memory)
        .ok_or_else(|| host(HostStop::Abi("host call from an instance without memory".to_owned())))
}

fn host(stop: HostStop) -> wasmi::Error {
    wasmi::Error::host(stop)
}

impl wasmi::errors::HostError for HostStop {}

/// `ptr..ptr + len` of guest memory, or an ABI error naming the function.
fn range(memory_len: usize, ptr: i32, len: i32, function: &str) -> Result<std::ops::Range<usize>, wasmi::Error> {
    let out = || {
        host(HostStop::Abi(format!(
            "zelavis.{function}: range {ptr}+{len} is outside guest memory ({memory_len} bytes)"
        )))
    };
    let start = usize::try_from(ptr).map_err(|_| out())?;
    let len = usize::try_from(len).map_err(|_| out())?;
    let end = start
        .checked_add(len)
        .filter(|&end| end <= memory_len)
        .ok_or_else(out)?;
    Ok(start..end)
}

/// Reads guest bytes for a host function.
fn read(caller: &Caller<'_, Ctx>, ptr: i32, len: i32, function: &str) -> Result<Vec<u8>, wasmi::Error> {
    let memory = memory(caller)?;
    let data = memory.data(caller);
    let range = range(data.len(), ptr, len, function)?;
    Ok(data[range].to_vec())
}

fn stopped<T>(result: Result<T, HostStop>) -> Result<T, wasmi::Error> {
    result.map_err(host)
}

fn define(linker: &mut Linker<Ctx>, name: &'static str) -> Result<(), wasmi::errors::LinkerError> {
    let m = abi::IMPORT_MODULE;
    match name {
        "abort" => linker.func_wrap(
            m,
            name,
            |caller: Caller<'_, Ctx>, ptr: i32, len: i32| -> Result<(), wasmi::Error> {
                let message = read(&caller, ptr, len, "abort").unwrap_or_else(|_| b"(message outside memory)".to_vec());
                Err(host(CallState::abort(&message)))
            },
        ),
        "take" => linker.func_wrap(
            m,
            name,
            |mut caller: Caller<'_, Ctx>, ptr: i32, len: i32| -> Result<i32, wasmi::Error> {
                let memory = memory(&caller)?;
                let (data, ctx) = memory.data_and_store_mut(&mut caller);
                let range = range(data.len(), ptr, len, "take")?;
                Ok(ctx.state.take(&mut data[range]))
            },
        ),
        "point_api" => linker.func_wrap(m, name, |mut caller: Caller<'_, Ctx>, index: i32| -> i32 {
            caller.data_mut().state.point_api(index)
        }),
        "log" => linker.func_wrap(
            m,
            name,
            |caller: Caller<'_, Ctx>, level: i32, ptr: i32, len: i32| -> Result<(), wasmi::Error> {
                let message = read(&caller, ptr, len, "log")?;
                stopped(caller.data().state.log(level, &message))
            },
        ),
        "settings" => linker.func_wrap(m, name, |mut caller: Caller<'_, Ctx>| -> Result<i32, wasmi::Error> {
            stopped(caller.data_mut().state.settings())
        }),
        "kv_get" => linker.func_wrap(
            m,
            name,
            |mut caller: Caller<'_, Ctx>, ptr: i32, len: i32| -> Result<i32, wasmi::Error> {
                let key = read(&caller, ptr, len, "kv_get")?;
                stopped(caller.data_mut().state.kv_get(&key))
            },
        ),
        "kv_set" => linker.func_wrap(
            m,
            name,
            |mut caller: Caller<'_, Ctx>, kptr: i32, klen: i32, vptr: i32, vlen: i32| -> Result<i32, wasmi::Error> {
                let key = read(&caller, kptr, klen, "kv_set")?;
                let value = read(&caller, vptr, vlen, "kv_set")?;
                stopped(caller.data_mut().state.kv_set(&key, &value))
            },
        ),
        "kv_delete" => linker.func_wrap(
            m,
            name,
            |mut caller: Caller<'_, Ctx>, ptr: i32, len: i32| -> Result<i32, wasmi::Error> {
                let key = read(&caller, ptr, len, "kv_delete")?;
                stopped(caller.data_mut().state.kv_delete(&key))
            },
        ),
        _ => return Ok(()),
    }
    .map(drop)
}

/// Fuel and time left for one call.
struct Budget {
    limit: u64,
    used: u64,
    given: u64,
    deadline: Instant,
    after: std::time::Duration,
}

impl Budget {
    fn new(limits: &Limits, deadline: Instant) -> Self {
        Self {
            limit: limits.fuel,
            used: 0,
            given: 0,
            deadline,
            after: limits.deadline,
        }
    }

    /// Gives the store its first slice.
    fn start(&mut self, store: &mut Store<Ctx>) -> Result<(), Stop> {
        self.give(store, 1)
    }

    /// Counts what the store used of its slice and gives it the next one (at least `required`), or stops.
    fn refuel(&mut self, store: &mut Store<Ctx>, required: u64) -> Result<(), Stop> {
        let left = store.get_fuel().unwrap_or(0);
        self.used += self.given.saturating_sub(left);
        if Instant::now() > self.deadline {
            return Err(Stop::DeadlineExceeded { after: self.after });
        }
        self.give(store, required)
    }

    fn give(&mut self, store: &mut Store<Ctx>, required: u64) -> Result<(), Stop> {
        let remaining = self.limit.saturating_sub(self.used);
        if remaining < required.max(1) {
            return Err(Stop::OutOfFuel { limit: self.limit });
        }
        self.given = remaining.min(FUEL_SLICE.max(required));
        store
            .set_fuel(self.given)
            .map_err(|e| Stop::Trap { message: e.to_string() })
    }
}

/// Turns an engine error into the reason the call stopped.
fn classify(error: &wasmi::Error, ctx: &Ctx, budget: &Budget) -> Stop {
    if let Some(desired) = ctx.limiter.denied {
        return Stop::MemoryLimit {
            desired,
            limit: ctx.limiter.limit,
        };
    }
    if let Some(stop) = error.downcast_ref::<HostStop>() {
        return match stop {
            HostStop::Abort(message) => Stop::Trap {
                message: message.clone(),
            },
            HostStop::Deadline => Stop::DeadlineExceeded { after: budget.after },
            HostStop::Abi(reason) => Stop::AbiMismatch { reason: reason.clone() },
        };
    }
    match error.kind() {
        ErrorKind::TrapCode(wasmi::TrapCode::OutOfFuel) => Stop::OutOfFuel { limit: budget.limit },
        ErrorKind::TrapCode(code) => Stop::Trap {
            message: code.to_string(),
        },
        _ => Stop::Trap {
            message: error.to_string(),
        },
    }
}

/// Runs `func` to completion in fuel slices.
fn run<P, R>(store: &mut Store<Ctx>, func: TypedFunc<P, R>, params: P, budget: &mut Budget) -> Result<R, Stop>
where
    P: wasmi::WasmParams,
    R: wasmi::WasmResults,
{
    let mut call = func
        .call_resumable(&mut *store, params)
        .map_err(|e| classify(&e, store.data(), budget))?;
    loop {
        match call {
            TypedResumableCall::Finished(results) => return Ok(results),
            TypedResumableCall::OutOfFuel(paused) => {
                budget.refuel(store, paused.required_fuel())?;
                call = paused
                    .resume(&mut *store)
                    .map_err(|e| classify(&e, store.data(), budget))?;
            }
            TypedResumableCall::HostTrap(paused) => return Err(classify(paused.host_error(), store.data(), budget)),
        }
    }
}

impl Linked {
    fn instantiate(&self, state: CallState, limits: &Limits) -> Result<(Store<Ctx>, wasmi::Instance, Budget), Stop> {
        let deadline = state.deadline;
        let mut store = Store::new(
            &self.engine,
            Ctx {
                state,
                limiter: MemoryLimiter {
                    limit: limits.memory_bytes,
                    denied: None,
                },
            },
        );
        store.limiter(|ctx| &mut ctx.limiter);
        let mut budget = Budget::new(limits, deadline);
        budget.start(&mut store)?;
        let instance = self
            .linker
            .instantiate_and_start(&mut store, &self.module)
            .map_err(|e| classify(&e, store.data(), &budget))?;
        Ok((store, instance, budget))
    }
}

fn abi_error(reason: impl Into<String>) -> Stop {
    Stop::AbiMismatch { reason: reason.into() }
}

impl Module for Linked {
    fn call(
        &self,
        state: CallState,
        limits: &Limits,
        kind: EntryKind,
        index: u32,
        input: &[u8],
    ) -> Result<(Vec<u8>, CallCost), Stop> {
        let (mut store, instance, mut budget) = self.instantiate(state, limits)?;
        let missing = |what| abi_error(format!("the instance lacks {what}"));
        let memory = instance
            .get_memory(&store, abi::EXPORT_MEMORY)
            .ok_or_else(|| missing(abi::EXPORT_MEMORY))?;
        let alloc: TypedFunc<i32, i32> = instance
            .get_typed_func(&store, abi::EXPORT_ALLOC)
            .map_err(|_| missing(abi::EXPORT_ALLOC))?;
        let call: TypedFunc<(i32, i32, i32, i32), i64> = instance
            .get_typed_func(&store, abi::EXPORT_CALL)
            .map_err(|_| missing(abi::EXPORT_CALL))?;
        // ok: the caller checked the input against `limits.input_bytes`, far below `i32::MAX`.
        let len = i32::try_from(input.len()).map_err(|_| abi_error("input longer than 2 GiB"))?;
        let ptr = if input.is_empty() {
            0
        } else {
            let ptr = run(&mut store, alloc, len, &mut budget)?;
            let data = memory.data_mut(&mut store);
            let range = usize::try_from(ptr)
                .ok()
                .and_then(|start| Some(start..start.checked_add(input.len())?))
                .filter(|r| r.end <= data.len() && ptr != 0)
                .ok_or_else(|| {
                    abi_error(format!(
                        "{} returned {ptr} for {len} bytes: not a buffer inside guest memory",
                        abi::EXPORT_ALLOC
                    ))
                })?;
            data[range].copy_from_slice(input);
            ptr
        };
        let kind_code = kind as i32;
        let index = i32::try_from(index).map_err(|_| abi_error("entry index out of range"))?;
        let packed = run(&mut store, call, (kind_code, index, ptr, len), &mut budget)?;
        let (out_ptr, out_len) = abi::unpack(packed);
        let out_len = out_len as usize;
        if out_len == 0 {
            return Err(abi_error("the call returned no output (not even a status byte)"));
        }
        if out_len - 1 > limits.output_bytes {
            return Err(Stop::OutputTooLarge {
                len: out_len - 1,
                limit: limits.output_bytes,
            });
        }
        let cost = CallCost {
            fuel: budget.used + budget.given.saturating_sub(store.get_fuel().unwrap_or(0)),
            memory_bytes: memory.data(&store).len() as u64,
        };
        let data = memory.data(&store);
        let start = out_ptr as usize;
        let output = start
            .checked_add(out_len)
            .filter(|&end| end <= data.len())
            .map(|end| data[start..end].to_vec())
            .ok_or_else(|| {
                abi_error(format!(
                    "output {out_ptr}+{out_len} is outside guest memory ({} bytes)",
                    data.len()
                ))
            })?;
        Ok((output, cost))
    }

    fn instantiate_only(&self, state: CallState, limits: &Limits) -> Result<(), Stop> {
        self.instantiate(state, limits).map(drop)
    }
}
