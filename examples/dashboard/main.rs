//! The reference dashboard host, and the README's main job: `cargo run --example dashboard`.
//!
//! Serves the Zelavis dashboard for a small shop — the ecommerce plugins, core services on every surface, a
//! Marketplace whose catalog has an entry of each source, and a loader with more plugins that install live.
//! Install state lives in SQLite at `.zelavis/dashboard.db` by default; `--store postgres://…` or
//! `--store redis://…` keeps it on a server, where several dashboards converge.
//!
//! The super-admin panel (`/zelavis/super-admin/`, with the owner token printed at start) runs the operator layer:
//! its state in `.zelavis/operator.db` (or on the PostgreSQL server), its tenants' runtimes as scopes of the
//! dashboard's store. Tenant `acme` may publish: sign a bundle with the demo key the host generates on its first
//! start (`zelavis bundle sign <bundle> --key .zelavis/keys/northwind-demo.key.pem --kid northwind-demo
//! --publisher Northwind`) and upload both files in the panel's Publishing area.
//!
//! ```sh
//! cargo run --example dashboard                                   # http://127.0.0.1:8080/zelavis/
//! cargo run --example dashboard -- --listen 127.0.0.1:9090
//! cargo run --example dashboard -- --store postgres://postgres@127.0.0.1:5432/test
//! ```

#[path = "host.rs"]
mod host;

use zelavis::prelude::*;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .init();
    let mut store = None;
    let mut listen = "127.0.0.1:8080".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--store" => store = args.next(),
            "--listen" => listen = args.next().ok_or("--listen needs an address")?,
            "-h" | "--help" => {
                println!("usage: dashboard [--store postgres://…|redis://…|<sqlite path>] [--listen 127.0.0.1:8080]");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other:?} (try --help)").into()),
        }
    }
    let host = host::start(host::StoreChoice::parse(store.as_deref()), Scope::Default).await?;
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    let address = listener.local_addr()?;
    println!("Zelavis dashboard: http://{address}/zelavis/");
    println!(
        "  super-admin panel: http://{address}/zelavis/super-admin/ (owner token: {})",
        host.owner_token
    );
    println!(
        "  state in {}; {} plugin(s) active",
        host.store,
        host.runtime.active().await.len()
    );
    println!("  operator layer in {}", host.operator_store);
    println!(
        "  publishing: key {} ({}), keyring {}, tenant {} may publish; plugins accepted into {}",
        host.publisher.kid,
        host.publisher.key_file.display(),
        host.publisher.keyring_file.display(),
        host::PUBLISHER_TENANT,
        host.plugins_dir.display()
    );
    println!("  press Ctrl-C to stop");
    axum::serve(listener, host.router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
