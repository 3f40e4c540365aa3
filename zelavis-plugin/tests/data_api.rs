//! Data APIs: extension points whose API crosses a code boundary as JSON bytes, for children (or parents) whose
//! code is not linked into the host.

use async_trait::async_trait;
use futures::executor::block_on;
use serde::{Deserialize, Serialize};
use zelavis_plugin::prelude::*;

#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
struct PaymentsApi {
    providers: Vec<String>,
}

const PAYMENTS: ExtensionPointRef<PaymentsApi> = ExtensionPointRef::data("shop", "payments");
const PAYMENTS_TYPED_ONLY: ExtensionPointRef<PaymentsApi> = ExtensionPointRef::new("shop", "payments");

fn n(s: &str) -> Name {
    Name::parse(s).unwrap()
}

/// A child whose code is "foreign": it sees only JSON.
struct Push(&'static str);

#[async_trait]
impl DataChildSetup for Push {
    async fn setup(&self, api: Vec<u8>, cx: &SetupContext) -> Result<Vec<u8>, SetupError> {
        assert_eq!(cx.plugin().as_str(), self.0);
        let mut api: serde_json::Value = serde_json::from_slice(&api).map_err(SetupError::other)?;
        api["providers"]
            .as_array_mut()
            .ok_or("no providers list")?
            .push(self.0.into());
        serde_json::to_vec(&api).map_err(SetupError::other)
    }
}

/// A child that answers bytes that are not the API.
struct Garbage;

#[async_trait]
impl DataChildSetup for Garbage {
    async fn setup(&self, _api: Vec<u8>, _cx: &SetupContext) -> Result<Vec<u8>, SetupError> {
        Ok(b"{\"providers\": 7}".to_vec())
    }
}

/// A child that panics.
struct Boom;

#[async_trait]
impl DataChildSetup for Boom {
    async fn setup(&self, _api: Vec<u8>, _cx: &SetupContext) -> Result<Vec<u8>, SetupError> {
        panic!("guest exploded")
    }
}

fn data_child(name: &'static str, setup: impl DataChildSetup) -> PluginDef {
    PluginDef::builder(name)
        .extends(ExtendsDecl::data("shop", "payments", setup))
        .build()
        .unwrap()
}

fn typed_child(name: &'static str, point: ExtensionPointRef<PaymentsApi>) -> PluginDef {
    PluginDef::builder(name)
        .extends(point.with_setup(move |api, _| {
            api.providers.push(name.to_owned());
            Ok(())
        }))
        .build()
        .unwrap()
}

fn shop(point: ExtensionPointDecl) -> PluginDef {
    PluginDef::builder("shop")
        .extension_point(point.policy(Policy::Open))
        .build()
        .unwrap()
}

#[test]
fn a_typed_parent_serves_typed_and_data_children_in_order() {
    let cx = SetupContext::builder(&shop(PAYMENTS.declare()))
        .children(
            n("payments"),
            vec![
                typed_child("native", PAYMENTS),
                data_child("wasm", Push("wasm")),
                typed_child("after", PAYMENTS),
            ],
        )
        .build();
    let mut api = PaymentsApi::default();
    let report = block_on(cx.extend(&PAYMENTS, &mut api)).unwrap();
    assert_eq!(api.providers, ["native", "wasm", "after"]);
    assert_eq!(report.applied, [n("native"), n("wasm"), n("after")]);
}

#[test]
fn a_data_child_of_a_point_not_declared_as_data_is_refused_by_name() {
    let cx = SetupContext::builder(&shop(PAYMENTS_TYPED_ONLY.declare()))
        .children(n("payments"), vec![data_child("wasm", Push("wasm"))])
        .build();
    let mut api = PaymentsApi::default();
    let report = block_on(cx.extend(&PAYMENTS_TYPED_ONLY, &mut api)).unwrap();
    assert!(api.providers.is_empty());
    match &report.failed[..] {
        [(child, ChildFailure::ApiMismatch(ExtendError::ChildApiMismatch { expected, provided, .. }))] => {
            assert_eq!(child.as_str(), "wasm");
            assert!(expected.contains("data"), "{expected}");
            assert!(
                provided.contains("PaymentsApi") && provided.contains("ExtensionPointRef::data"),
                "{provided}"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_foreign_parent_applies_data_and_typed_children_to_bytes() {
    let cx = SetupContext::builder(&shop(ExtensionPointDecl::new("payments")))
        .children(
            n("payments"),
            vec![
                data_child("wasm", Push("wasm")),
                typed_child("native", PAYMENTS),
                typed_child("typed-only", PAYMENTS_TYPED_ONLY),
            ],
        )
        .build();
    let mut api = br#"{"providers":["seed"]}"#.to_vec();
    let report = block_on(cx.extend_data("payments", &mut api)).unwrap();
    let api: PaymentsApi = serde_json::from_slice(&api).unwrap();
    assert_eq!(api.providers, ["seed", "wasm", "native"]);
    assert_eq!(report.applied, [n("wasm"), n("native")]);
    assert!(matches!(
        &report.failed[..],
        [(c, ChildFailure::ApiMismatch(ExtendError::ChildApiMismatch { .. }))] if c.as_str() == "typed-only"
    ));
}

#[test]
fn bad_answers_and_panics_of_data_children_are_typed_and_isolated() {
    let cx = SetupContext::builder(&shop(PAYMENTS.declare()))
        .children(
            n("payments"),
            vec![
                data_child("garbage", Garbage),
                data_child("boom", Boom),
                data_child("wasm", Push("wasm")),
            ],
        )
        .build();
    let mut api = PaymentsApi::default();
    let report = block_on(cx.extend(&PAYMENTS, &mut api)).unwrap();
    assert_eq!(api.providers, ["wasm"], "a failed child leaves the API as it was");
    match &report.failed[..] {
        [
            (garbage, ChildFailure::Error(SetupError::Extend(ExtendError::DataApi { reason, .. }))),
            (boom, ChildFailure::Panicked(message)),
        ] => {
            assert_eq!((garbage.as_str(), boom.as_str()), ("garbage", "boom"));
            assert!(reason.contains("invalid type"), "{reason}");
            assert_eq!(message, "guest exploded");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_typed_point_refuses_bytes() {
    let cx = SetupContext::builder(&shop(PAYMENTS_TYPED_ONLY.declare())).build();
    let mut api = b"{}".to_vec();
    let error = block_on(cx.extend_data("payments", &mut api)).unwrap_err();
    assert!(
        matches!(&error, ExtendError::ApiTypeMismatch { provided, .. } if provided.contains("data")),
        "{error}"
    );
    let data = SetupContext::builder(&shop(PAYMENTS.declare())).build();
    assert!(block_on(data.extend_data("payments", &mut api)).is_ok());
    assert!(matches!(
        block_on(data.extend_data("nowhere", &mut api)),
        Err(ExtendError::UnknownExtensionPoint { .. })
    ));
}
