//! The setup context: registrations, permissions, and applying children to extension points.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::executor::block_on;
use zelavis_plugin::prelude::*;

#[derive(Default)]
struct PaymentsApi {
    providers: Vec<String>,
}

struct OtherApi;

const PAYMENTS: ExtensionPointRef<PaymentsApi> = ExtensionPointRef::new("shop", "payments");
const PAYMENTS_WRONG_TYPE: ExtensionPointRef<OtherApi> = ExtensionPointRef::new("shop", "payments");
const ELSEWHERE: ExtensionPointRef<PaymentsApi> = ExtensionPointRef::new("other", "payments");

fn n(s: &str) -> Name {
    Name::parse(s).unwrap()
}

fn shop() -> PluginDef {
    PluginDef::builder("shop")
        .extension_point(PAYMENTS.declare().policy(Policy::Open))
        .build()
        .unwrap()
}

fn provider(name: &str) -> PluginDef {
    PluginDef::builder(name)
        .permission(Permission::ServicesRegister)
        .extends(PAYMENTS.with_setup(|api, cx| {
            api.providers.push(cx.plugin().to_string());
            cx.register_service(ServiceDef::new(Name::parse(&format!("{}-gateway", cx.plugin()))?))?;
            Ok(())
        }))
        .build()
        .unwrap()
}

#[test]
fn children_run_in_order_and_failures_are_isolated() {
    let failing = PluginDef::builder("failing")
        .extends(PAYMENTS.with_setup(|_, _| Err("no api key".into())))
        .build()
        .unwrap();
    let panicking = PluginDef::builder("panicking")
        .extends(PAYMENTS.with_setup(|_, _| panic!("kaboom")))
        .build()
        .unwrap();
    let wrong = PluginDef::builder("wrong")
        .extends(PAYMENTS_WRONG_TYPE.with_setup(|_, _| Ok(())))
        .build()
        .unwrap();
    let cx = SetupContext::builder(&shop())
        .children(
            n("payments"),
            vec![provider("stripe"), failing, panicking, wrong, provider("paypal")],
        )
        .build();
    let mut api = PaymentsApi::default();
    let report = block_on(cx.extend(&PAYMENTS, &mut api)).unwrap();
    assert_eq!(api.providers, ["stripe", "paypal"]);
    assert_eq!(report.applied, [n("stripe"), n("paypal")]);
    let failed: Vec<(&str, &ChildFailure)> = report.failed.iter().map(|(c, f)| (c.as_str(), f)).collect();
    assert!(matches!(failed[0], ("failing", ChildFailure::Error(m)) if m.to_string().contains("no api key")));
    assert!(matches!(failed[1], ("panicking", ChildFailure::Panicked(m)) if m == "kaboom"));
    assert!(matches!(
        failed[2],
        ("wrong", ChildFailure::ApiMismatch(ExtendError::ChildApiMismatch { .. }))
    ));

    let finished = cx.finish();
    assert_eq!(finished.children.len(), 5);
    let stripe = finished.children[0].outcome.as_ref().unwrap();
    assert_eq!(stripe.services[0].name().as_str(), "stripe-gateway");
    assert!(finished.children[1].outcome.is_err());
}

/// A panic payload whose own `Drop` panics: dropping it at the boundary would unwind past `extend`.
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        panic!("the payload's drop panicked");
    }
}

#[test]
fn a_child_panicking_with_a_payload_whose_drop_panics_is_contained() {
    let bomb = PluginDef::builder("bomb")
        .extends(PAYMENTS.with_setup(|_, _| std::panic::panic_any(Bomb)))
        .build()
        .unwrap();
    let cx = SetupContext::builder(&shop())
        .children(n("payments"), vec![bomb, provider("stripe")])
        .build();
    let mut api = PaymentsApi::default();
    let report = block_on(cx.extend(&PAYMENTS, &mut api)).unwrap();
    assert_eq!(report.applied, [n("stripe")]);
    assert!(matches!(
        &report.failed[..],
        [(child, ChildFailure::Panicked(m))] if child == "bomb" && m == zelavis_core::panic::NON_STRING_PAYLOAD
    ));
}

#[test]
fn extend_errors_are_typed() {
    let cx = SetupContext::builder(&shop()).build();
    let mut api = PaymentsApi::default();
    assert!(matches!(
        block_on(cx.extend(&ELSEWHERE, &mut api)),
        Err(ExtendError::NotOwner { .. })
    ));
    let mut other = OtherApi;
    assert!(matches!(
        block_on(cx.extend(&PAYMENTS_WRONG_TYPE, &mut other)),
        Err(ExtendError::ApiTypeMismatch { declared, .. }) if declared.ends_with("PaymentsApi")
    ));
    assert!(block_on(cx.extend(&PAYMENTS, &mut api)).is_ok());
    assert!(matches!(
        block_on(cx.extend(&PAYMENTS, &mut api)),
        Err(ExtendError::AlreadyExtended { .. })
    ));

    let plain = PluginDef::builder("shop").build().unwrap();
    let cx = SetupContext::builder(&plain).build();
    assert!(matches!(
        block_on(cx.extend(&PAYMENTS, &mut api)),
        Err(ExtendError::UnknownExtensionPoint { .. })
    ));
}

#[test]
fn strict_mode_refuses_undeclared_permissions_and_lenient_allows() {
    let def = PluginDef::builder("mail").build().unwrap();
    let strict = SetupContext::builder(&def).build();
    let err = strict.register_service(ServiceDef::new(n("mailer"))).unwrap_err();
    assert!(matches!(
        err,
        SetupError::PermissionDenied {
            permission: Permission::ServicesRegister,
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        "plugin \"mail\" lacks permission services.register; declare it in the plugin definition"
    );

    let lenient = SetupContext::builder(&def)
        .permission_mode(PermissionMode::Lenient)
        .build();
    lenient.register_service(ServiceDef::new(n("mailer"))).unwrap();
    assert_eq!(lenient.finish().registrations.services.len(), 1);
}

#[test]
fn reserved_and_duplicate_services_are_refused() {
    let def = PluginDef::builder("mail")
        .permission(Permission::ServicesRegister)
        .build()
        .unwrap();
    let existing = Services::new(vec![zelavis_core::service::RegisteredService {
        service: ServiceDef::new(n("queue")),
        owner: Some(n("jobs")),
    }]);
    let cx = SetupContext::builder(&def).services(existing).build();
    assert!(matches!(
        cx.register_service(ServiceDef::new(n("auth"))),
        Err(SetupError::Service(ServiceError::Reserved { .. }))
    ));
    let err = cx.register_service(ServiceDef::new(n("queue"))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "service \"queue\" is already registered by plugin \"jobs\""
    );
    cx.register_service(ServiceDef::new(n("mailer"))).unwrap();
    assert!(matches!(
        cx.register_service(ServiceDef::new(n("mailer"))),
        Err(SetupError::Service(ServiceError::Duplicate { .. }))
    ));
}

#[test]
fn a_closed_context_refuses_late_registrations() {
    let def = PluginDef::builder("mail")
        .permission(Permission::ServicesRegister)
        .build()
        .unwrap();
    let cx = SetupContext::builder(&def).build();
    let kept = cx.clone();
    drop(cx.finish());
    assert!(matches!(
        kept.register_service(ServiceDef::new(n("mailer"))),
        Err(SetupError::ContextClosed { .. })
    ));
}

#[test]
fn setup_forms_sync_async_and_trait() {
    struct Counting(Arc<AtomicUsize>);
    #[async_trait::async_trait]
    impl Setup for Counting {
        async fn setup(&self, _cx: &SetupContext) -> Result<(), SetupError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }
    let calls = Arc::new(AtomicUsize::new(0));
    let (c1, c2) = (calls.clone(), calls.clone());
    let defs = [
        PluginDef::builder("a").setup(move |_| {
            c1.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }),
        PluginDef::builder("b").setup_async(move |cx| {
            let calls = c2.clone();
            async move {
                assert_eq!(cx.plugin().as_str(), "b");
                calls.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        }),
        PluginDef::builder("c").setup_with(Counting(calls.clone())),
        PluginDef::builder("d"),
    ];
    for builder in defs {
        let def = builder.build().unwrap();
        block_on(def.run_setup(&SetupContext::builder(&def).build())).unwrap();
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[test]
fn context_carries_standard_data() {
    let def = PluginDef::builder("@acme/mail").build().unwrap();
    let platform = PlatformSummary::default().preset("shop").resource("database", true);
    let cx = SetupContext::builder(&def)
        .paths(ApiPaths::new("/admin", "/api", "v2").unwrap())
        .platform(Arc::new(platform))
        .build();
    assert_eq!(cx.root_path(), "/admin");
    assert_eq!(cx.api_base(), "/admin/api/v2");
    assert_eq!(cx.api_path(), "/admin/api/v2/plugins/%40acme%2Fmail");
    assert!(cx.platform().has_resource("database"));
    assert!(cx.accepted_children("payments").is_empty());
}
