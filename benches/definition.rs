//! Cost of building and validating a large plugin definition.
//!
//! `definition/build_and_validate` builds a plugin with a nested menu of 1,000 leaf entries
//! (10 sections × 10 groups × 10 leaves, 1,111 entries in all, 600 pages) and 100 extension points
//! (3 allowed children each) through [`PluginDef::builder`] and runs [`PluginBuilder::build`].
//!
//! `definition/baseline_plain_data` constructs the same data — the same [`Menu`] tree and plain
//! `Vec<(String, Policy, Vec<String>)>` extension points holding the same strings — without any validation.
//!
//! Both are measured in the same run and group, input construction included, so the two times read as the
//! ratio "build + validate vs construct only".
//!
//! Run with `cargo bench --bench definition -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use zelavis::prelude::*;

const SECTIONS: usize = 10;
const GROUPS: usize = 10;
const LEAVES: usize = 10;
const POINTS: usize = 100;
const ALLOWED_PER_POINT: usize = 3;

/// The nested menu: a root, 10 sections, 10 groups per section, 10 leaves per group, each entry with a
/// unique path. Every group and every even leaf has a page (600 pages, unique ids).
fn menu() -> Menu {
    let mut root = Menu::new("Big plugin")
        .path("/big")
        .page(Page::new("home", "Home", |_| "<p>home</p>"));
    for s in 0..SECTIONS {
        let mut section = Menu::new(format!("Section {s}")).path(format!("/big/s{s}"));
        for g in 0..GROUPS {
            let mut group = Menu::new(format!("Group {s}.{g}"))
                .path(format!("/big/s{s}/g{g}"))
                .page(Page::new(
                    format!("g-{s}-{g}"),
                    format!("Group {s}.{g}"),
                    |_| "<p>group</p>",
                ));
            for l in 0..LEAVES {
                let mut leaf = Menu::new(format!("Leaf {s}.{g}.{l}")).path(format!("/big/s{s}/g{g}/l{l}"));
                if l.is_multiple_of(2) {
                    leaf = leaf.page(Page::new(
                        format!("p-{s}-{g}-{l}"),
                        format!("Leaf {s}.{g}.{l}"),
                        |_| "<p>x</p>",
                    ));
                }
                group = group.item(leaf);
            }
            section = section.item(group);
        }
        root = root.item(section);
    }
    root
}

/// The policy of point `i`: alternately reviewed and private (both accept an allow list).
fn policy(i: usize) -> Policy {
    if i.is_multiple_of(2) {
        Policy::Reviewed
    } else {
        Policy::Private
    }
}

fn point_name(i: usize) -> String {
    format!("p{i}")
}

fn child_name(i: usize, j: usize) -> String {
    format!("child-{i}-{j}")
}

/// Builder input plus `build()`: what a plugin author pays.
fn build_and_validate() -> Result<PluginDef, DefinitionError> {
    let mut builder = PluginDef::builder("big-plugin").version("1.0.0").menu(menu());
    for i in 0..POINTS {
        let mut point = ExtensionPointDecl::new(point_name(i)).policy(policy(i));
        for j in 0..ALLOWED_PER_POINT {
            point = point.allow(child_name(i, j));
        }
        builder = builder.extension_point(point);
    }
    builder.build()
}

/// A plain extension point: name, policy, allowed children.
type PlainPoint = (String, Policy, Vec<String>);

/// The same data as plain structs, no validation: name, version, menu, extension points.
fn baseline_plain_data() -> (String, String, Menu, Vec<PlainPoint>) {
    let points = (0..POINTS)
        .map(|i| {
            let allowed = (0..ALLOWED_PER_POINT).map(|j| child_name(i, j)).collect();
            (point_name(i), policy(i), allowed)
        })
        .collect();
    ("big-plugin".to_owned(), "1.0.0".to_owned(), menu(), points)
}

fn definition(c: &mut Criterion) {
    // The measured input must be valid, or the bench would time the error path.
    match build_and_validate() {
        Ok(def) => {
            assert_eq!(def.extension_points().len(), POINTS);
            assert_eq!(def.pages().len(), 1 + SECTIONS * GROUPS * (1 + LEAVES / 2));
            assert_eq!(
                def.menu().map(Menu::len),
                Some(1 + SECTIONS * (1 + GROUPS * (1 + LEAVES)))
            );
        }
        Err(e) => panic!("bench input does not validate: {e}"),
    }

    let mut group = c.benchmark_group("definition");
    group.bench_function("build_and_validate", |b| {
        b.iter(|| black_box(build_and_validate()));
    });
    group.bench_function("baseline_plain_data", |b| {
        b.iter(|| black_box(baseline_plain_data()));
    });
    group.finish();
}

criterion_group!(benches, definition);
criterion_main!(benches);
