//! The file store passes the conformance kit, survives crashes and failed writes, and keeps concurrent
//! threads and processes from losing each other's writes.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use futures::executor::block_on;
use tempfile::TempDir;
use zelavis_core::paths::decode_segment;
use zelavis_registry::prelude::*;
use zelavis_registry::store::conformance::{self, Harness};
use zelavis_registry::store::file::FileStore;
use zelavis_registry::store::{encode_document, update_state};

/// Each fresh store is a new directory under one temporary root, removed by `cleanup`.
struct Files {
    root: TempDir,
    next: AtomicUsize,
}

impl Files {
    fn new() -> Self {
        Self {
            root: tempfile::tempdir().expect("a temporary directory"),
            next: AtomicUsize::new(0),
        }
    }
}

fn plant(path: &Path, bytes: &[u8]) {
    fs::create_dir_all(path.parent().expect("a document has a directory")).expect("create the directory");
    fs::write(path, bytes).expect("plant the document");
}

#[async_trait]
impl Harness for Files {
    type Store = FileStore;

    async fn fresh(&self) -> FileStore {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        FileStore::new(self.root.path().join(format!("store-{n}")))
    }

    async fn second_client(&self, store: &FileStore) -> FileStore {
        FileStore::new(store.dir())
    }

    async fn write_corrupt(&self, store: &FileStore, scope: &Scope) {
        plant(&store.document_path(scope), b"\x00\x01 definitely not json");
    }

    async fn write_newer_format(&self, store: &FileStore, scope: &Scope, format: u64) {
        let document = format!(r#"{{"format":{format},"revision":3,"state":{{"records":[]}}}}"#);
        plant(&store.document_path(scope), document.as_bytes());
    }

    async fn cleanup(&self, store: FileStore) {
        let _ = fs::remove_dir_all(store.dir());
    }
}

#[test]
fn file_store_conforms() {
    let report = block_on(conformance::run(&Files::new()));
    assert!(report.passed(), "{report}");
    assert_eq!(report.results.len(), 13);
}

fn name(text: &str) -> Name {
    Name::parse(text).expect("a valid name")
}

fn state_of(names: &[&str]) -> RegistryState {
    RegistryState::new(
        names
            .iter()
            .map(|n| InstallRecord::new(name(n), Status::Installed))
            .collect(),
    )
}

fn names(state: &RegistryState) -> Vec<String> {
    let mut out: Vec<String> = state.records.iter().map(|r| r.name.to_string()).collect();
    out.sort();
    out
}

fn store_in(dir: &TempDir) -> FileStore {
    FileStore::new(dir.path().join("zelavis"))
}

#[test]
fn the_default_location_is_zelavis_plugins_json() {
    let store = FileStore::default_location();
    assert_eq!(store.dir(), Path::new("zelavis"));
    assert_eq!(
        store.document_path(&Scope::Default),
        Path::new("zelavis").join("plugins.json")
    );
    assert_eq!(store.ledger_path(), Path::new("zelavis").join("migrations.json"));
    assert_eq!(FileStore::default(), store);
    assert_eq!(store.describe(), "file store zelavis");

    let dir = tempfile::tempdir().expect("a temporary directory");
    assert_eq!(
        FileStore::new(dir.path()).document_path(&Scope::Default),
        dir.path().join("plugins.json")
    );
}

#[test]
fn tenant_documents_are_one_safe_file_each() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = store_in(&dir);
    let scoped = Scope::tenant("@tenant/scoped-tenant").expect("a valid tenant");
    let plain = Scope::tenant("acme").expect("a valid tenant");
    block_on(async {
        store
            .save(&scoped, &state_of(&["a"]), Revision::NONE)
            .await
            .expect("save the scoped tenant");
        store
            .save(&plain, &state_of(&["b"]), Revision::NONE)
            .await
            .expect("save the plain tenant");
    });

    let tenants = store.dir().join("tenants");
    assert_eq!(
        store.document_path(&scoped),
        tenants.join("%40tenant%2Fscoped-tenant.json")
    );
    assert_eq!(store.document_path(&plain), tenants.join("acme.json"));
    let mut documents: Vec<String> = fs::read_dir(&tenants)
        .expect("the tenants directory")
        .map(|entry| {
            let entry = entry.expect("a directory entry");
            assert!(
                entry.file_type().expect("a file type").is_file(),
                "{:?} is not a file",
                entry.path()
            );
            entry.file_name().to_string_lossy().into_owned()
        })
        .filter(|file| Path::new(file).extension().is_some_and(|x| x == "json"))
        .collect();
    documents.sort();
    assert_eq!(documents, ["%40tenant%2Fscoped-tenant.json", "acme.json"]);
    // The file name decodes back to the tenant.
    let stem = documents[0].strip_suffix(".json").expect("a .json file");
    assert_eq!(decode_segment(stem).as_deref(), Some("@tenant/scoped-tenant"));
    // Tenants never touch the default document.
    assert!(!store.document_path(&Scope::Default).exists());
    assert_eq!(names(&block_on(store.load(&scoped)).expect("load").state), ["a"]);
}

#[test]
fn a_leftover_temporary_file_does_not_affect_load_or_save() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = store_in(&dir);
    let r1 = block_on(store.save(&Scope::Default, &state_of(&["kept"]), Revision::NONE)).expect("first save");

    // A writer crashed after writing (part of) its temporary file, before the rename.
    let half = encode_document(&state_of(&["never-renamed"]), Revision(r1.0 + 1));
    let leftover = store.dir().join(".plugins.json.crash1.tmp");
    fs::write(&leftover, &half[..half.len() / 2]).expect("plant a leftover");
    fs::write(store.dir().join(".tmpXYZ123"), b"garbage").expect("plant another leftover");

    let loaded = block_on(store.load(&Scope::Default)).expect("load ignores leftovers");
    assert_eq!((names(&loaded.state), loaded.revision), (vec!["kept".to_owned()], r1));
    let r2 = block_on(store.save(&Scope::Default, &state_of(&["next"]), r1)).expect("save ignores leftovers");
    assert_eq!(r2, Revision(r1.0 + 1));
    assert_eq!(
        names(&block_on(store.load(&Scope::Default)).expect("load").state),
        ["next"]
    );
}

/// Files in `dir` whose name ends in `.tmp`: a failed save must not leave one behind.
fn temporary_files(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .expect("read the directory")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "tmp"))
        .collect()
}

#[test]
fn a_failed_write_keeps_the_previous_document_and_names_the_path() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = store_in(&dir);
    let path = store.document_path(&Scope::Default);
    let r1 = block_on(store.save(&Scope::Default, &state_of(&["before"]), Revision::NONE)).expect("first save");
    let before = fs::read(&path).expect("the document");

    // 1. The lock cannot be taken (its path is a directory): nothing is written.
    let lock = store.dir().join("plugins.json.lock");
    fs::remove_file(&lock).expect("remove the lock file");
    fs::create_dir(&lock).expect("block the lock path");
    let error = block_on(store.save(&Scope::Default, &state_of(&["after"]), r1)).expect_err("the lock fails");
    assert!(
        matches!(&error, StoreError::Backend { message, .. } if message.contains(&path.display().to_string())),
        "{error:?}"
    );
    assert_eq!(fs::read(&path).expect("the document"), before);
    fs::remove_dir(&lock).expect("unblock the lock path");

    // 2. The directory is read-only: the temporary file cannot be created. (Root ignores permissions, so this
    //    part only runs for other users.)
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let read_only = fs::Permissions::from_mode(0o555);
        fs::set_permissions(store.dir(), read_only).expect("make the directory read-only");
        let enforced = fs::write(store.dir().join("probe"), b"").is_err();
        if enforced {
            let error = block_on(store.save(&Scope::Default, &state_of(&["after"]), r1)).expect_err("no temp file");
            assert!(
                matches!(&error, StoreError::Backend { message, .. } if message.contains(&path.display().to_string())),
                "{error:?}"
            );
            assert_eq!(fs::read(&path).expect("the document"), before);
        } else {
            eprintln!("skipped the read-only directory case: permissions are not enforced for this user");
        }
        fs::set_permissions(store.dir(), fs::Permissions::from_mode(0o755)).expect("restore permissions");
        let _ = fs::remove_file(store.dir().join("probe"));
    }

    // 3. The document's directory cannot be created (a file is in the way): Backend names the document.
    let blocker = dir.path().join("not-a-directory");
    fs::write(&blocker, b"a file").expect("plant a file");
    let blocked = FileStore::new(blocker.join("zelavis"));
    let error = block_on(blocked.save(&Scope::Default, &state_of(&["x"]), Revision::NONE)).expect_err("no directory");
    let blocked_path = blocked.document_path(&Scope::Default).display().to_string();
    assert!(
        matches!(&error, StoreError::Backend { message, .. } if message.contains(&blocked_path)),
        "{error:?}"
    );
    assert_eq!(fs::read(&blocker).expect("the blocking file"), b"a file");

    // Nothing was left behind, and the store still works from where it was.
    assert_eq!(temporary_files(store.dir()), Vec::<PathBuf>::new());
    let loaded = block_on(store.load(&Scope::Default)).expect("load");
    assert_eq!((names(&loaded.state), loaded.revision), (vec!["before".to_owned()], r1));
    block_on(store.save(&Scope::Default, &state_of(&["after"]), r1)).expect("a save after the failures");
}

#[test]
fn unreadable_documents_are_named_and_never_overwritten() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = store_in(&dir);
    let path = store.document_path(&Scope::Default);
    plant(&path, b"{ half a docu");
    match block_on(store.load(&Scope::Default)) {
        Err(StoreError::Corrupt { location, .. }) => assert_eq!(location, path.display().to_string()),
        other => panic!("loading a corrupt file returned {other:?}"),
    }
    let refused = block_on(store.save(&Scope::Default, &state_of(&["x"]), Revision::NONE));
    assert!(matches!(refused, Err(StoreError::Corrupt { .. })), "{refused:?}");
    assert_eq!(fs::read(&path).expect("the document"), b"{ half a docu");

    plant(&path, br#"{"format": 9, "revision": 4, "state": {"records": []}}"#);
    let refused = block_on(store.save(&Scope::Default, &state_of(&["x"]), Revision(4)));
    assert!(
        matches!(refused, Err(StoreError::NewerFormat { found: 9, .. })),
        "{refused:?}"
    );

    // The ledger too.
    plant(&store.ledger_path(), b"[oops");
    let shop = name("shop");
    assert!(matches!(
        block_on(store.is_applied(&Scope::Default, &shop, "1")),
        Err(StoreError::Corrupt { .. })
    ));
    assert!(matches!(
        block_on(store.record(&Scope::Default, &shop, "1")),
        Err(StoreError::Corrupt { .. })
    ));
    assert_eq!(fs::read(store.ledger_path()).expect("the ledger"), b"[oops");

    // A newer ledger format is recognised whatever its shape; a current one must have its list, well formed.
    let cases: [(&[u8], &str); 3] = [
        (br#"{"format": 2, "applied": {"another": "shape"}}"#, "newer"),
        (br#"{"format": 1}"#, "lacks its applied list"),
        (
            br#"{"format": 1, "applied": [{"plugin": 1, "id": "x"}]}"#,
            "applied: invalid type",
        ),
    ];
    for (bytes, expected) in cases {
        plant(&store.ledger_path(), bytes);
        let error = block_on(store.is_applied(&Scope::Default, &shop, "1")).unwrap_err();
        match (&error, expected) {
            (StoreError::NewerFormat { found: 2, .. }, "newer") => {}
            (StoreError::Corrupt { reason, .. }, _) if reason.contains(expected) => {}
            _ => panic!("{expected}: {error:?}"),
        }
    }
}

#[test]
fn a_document_changed_behind_the_stores_back_is_checked_again() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = store_in(&dir);
    let path = store.document_path(&Scope::Default);
    let r1 = block_on(store.save(&Scope::Default, &state_of(&["a"]), Revision::NONE)).expect("first save");
    let written = fs::read(&path).expect("the document");

    // The same length, the same revision, but a record no longer valid: the store decodes again and refuses.
    let text = String::from_utf8(written.clone()).expect("utf-8");
    let broken = text.replacen("\"a\"", "\"A\"", 1);
    assert_eq!(broken.len(), written.len());
    plant(&path, broken.as_bytes());
    let refused = block_on(store.save(&Scope::Default, &state_of(&["b"]), r1));
    assert!(matches!(refused, Err(StoreError::Corrupt { .. })), "{refused:?}");
    assert_eq!(fs::read(&path).expect("the document"), broken.as_bytes());

    // Rewritten by hand at another revision: a conflict, then a save based on that revision succeeds.
    plant(&path, br#"{"format": 1, "revision": 9, "state": {"records": []}}"#);
    let stale = block_on(store.save(&Scope::Default, &state_of(&["b"]), r1));
    assert!(stale.is_err_and(|e| e.is_conflict()));
    let r10 = block_on(store.save(&Scope::Default, &state_of(&["b"]), Revision(9))).expect("save at 9");
    assert_eq!(r10, Revision(10));

    // Restored to the bytes the store wrote first (no longer the last it knows): decoded again, revision 1.
    plant(&path, &written);
    let stale = block_on(store.save(&Scope::Default, &state_of(&["c"]), r10));
    assert!(stale.is_err_and(|e| e.is_conflict()));
    assert_eq!(
        block_on(store.save(&Scope::Default, &state_of(&["c"]), r1)).expect("save at r1"),
        Revision(r1.0 + 1)
    );
    assert_eq!(
        names(&block_on(store.load(&Scope::Default)).expect("load").state),
        ["c"]
    );
}

#[test]
fn the_ledger_is_a_file_shared_by_every_client() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = store_in(&dir);
    let shop = name("@acme/shop");
    block_on(async {
        assert!(
            store
                .record(&Scope::Default, &shop, "001-orders")
                .await
                .expect("record")
        );
        assert!(
            !store
                .record(&Scope::Default, &shop, "001-orders")
                .await
                .expect("record again")
        );
        assert!(
            store
                .record(&Scope::Default, &shop, "002-refunds")
                .await
                .expect("record")
        );
    });
    let reopened = FileStore::new(store.dir());
    assert!(block_on(reopened.is_applied(&Scope::Default, &shop, "001-orders")).expect("read"));
    assert!(!block_on(reopened.is_applied(&Scope::Default, &name("shop"), "001-orders")).expect("read"));
    let ledger: serde_json::Value =
        serde_json::from_slice(&fs::read(store.ledger_path()).expect("the ledger")).expect("JSON");
    assert_eq!(ledger["format"], 1);
    assert_eq!(ledger["applied"].as_array().map(Vec::len), Some(2), "{ledger}");
}

#[test]
fn two_threads_saving_with_retries_lose_nothing() {
    const EACH: usize = 25;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let base = dir.path().join("zelavis");
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let store = FileStore::new(&base);
            std::thread::spawn(move || {
                for i in 0..EACH {
                    block_on(update_state(&store, &Scope::Default, |state| {
                        state.upsert(InstallRecord::new(name(&format!("t{t}-p{i}")), Status::Installed));
                    }))
                    .expect("update with retries");
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("a writer thread");
    }
    let stored = block_on(FileStore::new(&base).load(&Scope::Default)).expect("load");
    let mut expected: Vec<String> = (0..2)
        .flat_map(|t| (0..EACH).map(move |i| format!("t{t}-p{i}")))
        .collect();
    expected.sort();
    assert_eq!(names(&stored.state), expected);
    assert_eq!(stored.revision, Revision(2 * EACH as u64));
    assert_eq!(temporary_files(&base), Vec::<PathBuf>::new());
}

const CHILD_DIR: &str = "ZELAVIS_FILE_STORE_CHILD_DIR";
const CHILD_ID: &str = "ZELAVIS_FILE_STORE_CHILD_ID";
const PROCESSES: usize = 3;
const PROCESS_SAVES: usize = 10;
const PROCESS_MIGRATIONS: usize = 10;

/// The body of each child process of `processes_saving_and_recording_concurrently_lose_nothing`; a no-op in
/// a normal test run.
#[test]
fn file_store_child_process() {
    let (Ok(dir), Ok(id)) = (std::env::var(CHILD_DIR), std::env::var(CHILD_ID)) else {
        return;
    };
    let store = FileStore::new(dir);
    let plugin = name("@acme/shop");
    let mut firsts = 0;
    for i in 0..PROCESS_SAVES.max(PROCESS_MIGRATIONS) {
        if i < PROCESS_SAVES {
            loop {
                let mut stored = block_on(store.load(&Scope::Default)).expect("load");
                stored
                    .state
                    .upsert(InstallRecord::new(name(&format!("c{id}-p{i}")), Status::Installed));
                match block_on(store.save(&Scope::Default, &stored.state, stored.revision)) {
                    Ok(_) => break,
                    Err(e) if e.is_conflict() => {}
                    Err(e) => panic!("{e}"),
                }
            }
        }
        if i < PROCESS_MIGRATIONS && block_on(store.record(&Scope::Default, &plugin, &format!("m{i}"))).expect("record")
        {
            firsts += 1;
        }
    }
    println!("FIRSTS={firsts}");
}

#[test]
fn processes_saving_and_recording_concurrently_lose_nothing() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let base = dir.path().join("zelavis");
    let exe = std::env::current_exe().expect("the test binary");
    let children: Vec<_> = (0..PROCESSES)
        .map(|id| {
            Command::new(&exe)
                .args(["--exact", "file_store_child_process", "--nocapture", "--test-threads=1"])
                .env(CHILD_DIR, &base)
                .env(CHILD_ID, id.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn a child")
        })
        .collect();
    let mut firsts = 0;
    for child in children {
        let output = child.wait_with_output().expect("a child's output");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        firsts += stdout
            .lines()
            .find_map(|line| line.split_once("FIRSTS=").map(|(_, n)| n))
            .and_then(|n| n.trim().parse::<usize>().ok())
            .unwrap_or_else(|| panic!("no FIRSTS line in {stdout}"));
    }
    // Every migration was recorded by exactly one process, once.
    assert_eq!(firsts, PROCESS_MIGRATIONS);
    let store = FileStore::new(&base);
    let ledger: serde_json::Value =
        serde_json::from_slice(&fs::read(store.ledger_path()).expect("the ledger")).expect("JSON");
    assert_eq!(
        ledger["applied"].as_array().map(Vec::len),
        Some(PROCESS_MIGRATIONS),
        "{ledger}"
    );
    // Every save landed.
    let stored = block_on(store.load(&Scope::Default)).expect("load");
    let mut expected: Vec<String> = (0..PROCESSES)
        .flat_map(|c| (0..PROCESS_SAVES).map(move |i| format!("c{c}-p{i}")))
        .collect();
    expected.sort();
    assert_eq!(names(&stored.state), expected);
    assert_eq!(stored.revision, Revision((PROCESSES * PROCESS_SAVES) as u64));
}
