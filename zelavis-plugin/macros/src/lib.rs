//! The `define_plugin!` procedural macro of Zelavis. Use it through `zelavis_plugin::define_plugin`.
//!
//! # `define_plugin!`
//!
#![doc = include_str!("../SYNTAX.md")]

mod check;
mod expand;
mod model;
mod parse;

use proc_macro::TokenStream;

#[doc = include_str!("../SYNTAX.md")]
#[proc_macro]
pub fn define_plugin(input: TokenStream) -> TokenStream {
    expand::define_plugin(input.into()).into()
}
