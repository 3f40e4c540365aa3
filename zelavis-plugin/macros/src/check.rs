//! Compile-time checks of literal values, and the error accumulator that lets every problem be reported.

use std::fmt::Display;

use proc_macro2::Span;
use syn::LitStr;
use zelavis_core::menu::check_path;
use zelavis_core::name::Name;
use zelavis_core::page::PageId;

use crate::model::Text;

/// Every problem found so far, combined into one `syn::Error`.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    /// Records `error`.
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// Records `message` at `span`.
    pub(crate) fn at(&mut self, span: Span, message: impl Display) {
        self.push(syn::Error::new(span, message));
    }

    /// The combined error, if any problem was recorded.
    pub(crate) fn into_error(self) -> Option<syn::Error> {
        self.0
    }
}

/// The permissions as written in the macro, and their `Permission` variants.
pub(crate) const PERMISSIONS: &[(&str, &str)] = &[
    ("services.register", "ServicesRegister"),
    ("hooks.subscribe", "HooksSubscribe"),
    ("filters.register", "FiltersRegister"),
    ("routes.register", "RoutesRegister"),
    ("migrations.register", "MigrationsRegister"),
];

/// The policies as written in the macro, and their `Policy` variants.
pub(crate) const POLICIES: &[(&str, &str)] = &[("open", "Open"), ("reviewed", "Reviewed"), ("private", "Private")];

/// Checks a plugin or extension point name; `what` is e.g. `"plugin name"`.
pub(crate) fn name(lit: &LitStr, what: &str, errors: &mut Errors) {
    if let Err(error) = Name::parse(&lit.value()) {
        errors.at(lit.span(), format!("invalid {what}: {error}"));
    }
}

/// Checks a plugin name given as text.
pub(crate) fn name_text(text: &Text, what: &str, errors: &mut Errors) {
    if let Text::Lit(lit) = text {
        name(lit, what, errors);
    }
}

/// Checks a semver version given as text.
pub(crate) fn version(text: &Text, errors: &mut Errors) {
    if let Text::Lit(lit) = text {
        let value = lit.value();
        if let Err(error) = semver::Version::parse(&value) {
            errors.at(
                lit.span(),
                format!("invalid version {value:?}: {error}; write a semver version such as \"1.2.0\""),
            );
        }
    }
}

/// Checks a contract version literal.
pub(crate) fn contract(lit: &LitStr, errors: &mut Errors) {
    if let Err(error) = zelavis_core::contract::ContractVersion::parse(&lit.value()) {
        errors.at(lit.span(), format!("invalid contract: {error}"));
    }
}

/// Checks a dependency's semver requirement.
pub(crate) fn requirement(lit: &LitStr, errors: &mut Errors) {
    let value = lit.value();
    if let Err(error) = semver::VersionReq::parse(&value) {
        errors.at(
            lit.span(),
            format!(
                "invalid version requirement {value:?}: {error}; write a semver requirement such as \"^1.0\" or \"*\""
            ),
        );
    }
}

/// Checks a menu path.
pub(crate) fn path(text: &Text, errors: &mut Errors) {
    if let Text::Lit(lit) = text
        && let Err(problem) = check_path(&lit.value())
    {
        errors.at(lit.span(), format!("invalid menu path: {problem}"));
    }
}

/// Checks a page id.
pub(crate) fn page_id(text: &Text, errors: &mut Errors) {
    if let Text::Lit(lit) = text
        && let Err(error) = PageId::parse(&lit.value())
    {
        errors.at(lit.span(), format!("invalid page id: {error}"));
    }
}

/// Checks that a title is not blank; `what` is `"menu"` or `"page"`.
pub(crate) fn title(text: &Text, what: &str, errors: &mut Errors) {
    if let Text::Lit(lit) = text
        && lit.value().trim().is_empty()
    {
        errors.at(lit.span(), format!("{what} title is empty"));
    }
}

/// `" (did you mean `x`?)"` when one of `candidates` is close to `word`, else `""`.
pub(crate) fn suggestion<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    nearest(word, candidates)
        .map(|candidate| format!(" (did you mean `{candidate}`?)"))
        .unwrap_or_default()
}

/// The candidate closest to `word`, if it is close enough to be a typo of it.
pub(crate) fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|candidate| (distance(word, candidate), candidate))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, candidate)| candidate)
}

/// Optimal string alignment distance: insertions, deletions, substitutions and adjacent transpositions.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        d[i * width] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

/// `"a, b or c"`.
pub(crate) fn one_of<'a>(words: impl IntoIterator<Item = &'a str>) -> String {
    let words: Vec<&str> = words.into_iter().collect();
    match words.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_misses_only() {
        assert_eq!(distance("verison", "version"), 1);
        assert_eq!(suggestion("verison", ["name", "version"]), " (did you mean `version`?)");
        assert_eq!(
            suggestion("reviwed", ["open", "reviewed", "private"]),
            " (did you mean `reviewed`?)"
        );
        assert_eq!(suggestion("colour", ["name", "version"]), "");
    }

    #[test]
    fn lists_words() {
        assert_eq!(one_of(["open", "reviewed", "private"]), "open, reviewed or private");
        assert_eq!(one_of(["open"]), "open");
    }
}
