//! Progress on stderr for steps that can take a while: a spinner, a counter of items done, or a bar of bytes
//! read. Drawn only when
//! stderr is a terminal and neither `--quiet` nor `--json` is given; cleared when dropped.

use std::borrow::Cow;
use std::io::IsTerminal as _;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::output::Output;

/// A spinner or counter; clears itself when dropped.
#[derive(Debug)]
pub(crate) struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// Counts one more item done.
    pub(crate) fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    /// Sets the length of a bar.
    pub(crate) fn length(&self, n: u64) {
        self.bar.set_length(n);
    }

    /// Changes the message.
    pub(crate) fn message(&self, message: impl Into<Cow<'static, str>>) {
        self.bar.set_message(message);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

fn target(out: Output) -> ProgressDrawTarget {
    if out.progress() && std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    }
}

fn start(out: Output, template: &str, message: impl Into<Cow<'static, str>>) -> Progress {
    let bar = ProgressBar::with_draw_target(None, target(out));
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.set_message(message);
    if !bar.is_hidden() {
        bar.enable_steady_tick(Duration::from_millis(100));
    }
    Progress { bar }
}

/// A spinner with a message.
pub(crate) fn spinner(out: Output, message: impl Into<Cow<'static, str>>) -> Progress {
    start(out, "{spinner} {msg} ({elapsed})", message)
}

/// A spinner that counts items done.
pub(crate) fn counter(out: Output, message: impl Into<Cow<'static, str>>) -> Progress {
    start(out, "{spinner} {msg}: {human_pos} ({elapsed})", message)
}

/// A bar of bytes done (its length set with [`Progress::length`]).
pub(crate) fn bytes(out: Output, message: impl Into<Cow<'static, str>>) -> Progress {
    start(
        out,
        "{spinner} {msg} [{bar:30}] {bytes}/{total_bytes} ({elapsed})",
        message,
    )
}
