//! The Zelavis registry: catalog, registry state, stores, loaders and activation (in progress).
