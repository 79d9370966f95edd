//! Checks that need more than globs: ELF sections, secrets in every layer, interpreters and
//! venvs, wasted bytes by instruction, locales, and the image's runtime configuration.
//!
//! This file holds the dispatcher and the helpers the detectors share; the detectors live
//! by theme in `python`, `bytes`, `secrets_scan` and `posture`.

mod bytes;
mod posture;
mod python;
mod secrets_scan;

use self::bytes::{locales, unstripped, wasted};
use self::posture::{env_hashseed, env_locale, env_missing, mode_bits, user_root};
use self::python::{interpreters, stray_pyc, venvs};
use self::secrets_scan::{secrets, test_fixtures};
use super::{Context, Draft, Item, Rule, ITEMS_PER_FINDING};
use crate::entry::EntryKind;
use crate::tree::NodeId;

pub(crate) fn run(ctx: &Context, rule: &Rule, detector: &str) -> Vec<Draft> {
    match detector {
        "multiple-interpreters" => interpreters(ctx, rule),
        "venvs" => venvs(ctx, rule),
        "locales" => locales(ctx, rule),
        "elf-unstripped" => unstripped(ctx, rule),
        "wasted" => wasted(ctx, rule),
        "secrets" => secrets(ctx, rule),
        "secrets-test-fixtures" => test_fixtures(ctx, rule),
        "user-root" => user_root(ctx, rule),
        "setuid" => mode_bits(ctx, rule, true),
        "world-writable" => mode_bits(ctx, rule, false),
        "env-missing" => env_missing(ctx, rule),
        "env-utf8-locale" => env_locale(ctx, rule),
        "env-hashseed" => env_hashseed(ctx, rule),
        "stray-pyc" => stray_pyc(ctx, rule),
        _ => Vec::new(),
    }
}

fn top(mut items: Vec<Item>) -> Vec<Item> {
    items.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.name.cmp(&b.name)));
    items.truncate(ITEMS_PER_FINDING);
    items
}

fn draft(rule: &Rule, summary: String, count: u64, items: Vec<Item>) -> Draft {
    let mut d = Draft::new(rule, summary);
    d.finding.count = count;
    d.finding.items = top(items);
    d
}

/// Every visible file under `id` (or `id` itself when it is a file).
fn files_under(ctx: &Context, id: NodeId, out: &mut Vec<NodeId>) {
    let mut stack = vec![id];
    while let Some(n) = stack.pop() {
        match ctx.tree.final_state(n) {
            Some(e) if e.kind == EntryKind::Dir => stack.extend(
                ctx.tree
                    .node(n)
                    .children
                    .iter()
                    .copied()
                    .filter(|&c| ctx.tree.is_visible(c)),
            ),
            Some(_) => out.push(n),
            None => {}
        }
    }
}
