//! What the store benches share: the state they save and load, and a scratch directory on the real disk.

use std::fs;
use std::path::{Path, PathBuf};

use zelavis::registry::prelude::*;

/// A state of `plugins` scoped plugins, each with a specifier and an order.
pub(crate) fn state(plugins: usize) -> RegistryState {
    RegistryState::new(
        (0..plugins)
            .map(|i| {
                InstallRecord::new(
                    Name::parse(&format!("@bench/plugin-{i:05}")).expect("valid name"),
                    Status::Installed,
                )
                .specifier(format!("zelavis-plugin-{i:05}"))
                .order(u32::try_from(i % 100).expect("small"))
            })
            .collect(),
    )
}

/// A fresh directory under `target/tmp` (the real disk, not a tmpfs), removed when dropped.
pub(crate) struct BenchDir(pub(crate) PathBuf);

impl BenchDir {
    pub(crate) fn new(name: &str) -> Self {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create the bench directory");
        Self(dir)
    }
}

impl Drop for BenchDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
