//! The secrets detector: credential-like files in every layer (hidden ones too), and
//! credential-like names in the history and the config's environment. Keys that CPython's
//! or a package's test suite ships are told apart (`secrets-test-fixtures`, info): they are
//! published with those sources, and counting them as secrets failed CI on every image with
//! a CPython built from source.

use crate::content::{is_secret_candidate, Captured};
use crate::findings::secrets::{classify, secret_assignments, test_fixture};
use crate::findings::{Context, Draft, Item, Rule, ITEMS_PER_FINDING};

/// Credential-like files that are known test fixtures, with the reason.
pub(super) fn test_fixtures(ctx: &Context, rule: &Rule) -> Vec<Draft> {
    let items: Vec<Item> = credential_files(ctx)
        .into_iter()
        .filter_map(|(mut item, fixture)| {
            let why = fixture?;
            item.note = format!("{}; {why}", item.note);
            Some(item)
        })
        .collect();
    if items.is_empty() {
        return Vec::new();
    }
    let summary = format!(
        "{} test key{} from test suites, not credentials",
        items.len(),
        if items.len() == 1 { "" } else { "s" }
    );
    finish(rule, summary, items)
}

/// Every credential-like file of every layer, and whether it is a known test fixture.
fn credential_files(ctx: &Context) -> Vec<(Item, Option<String>)> {
    let tree = ctx.tree;
    let mut out = Vec::new();
    for layer in &ctx.image.layers {
        for (index, cap) in &layer.changes.captures {
            let Some(entry) = layer.changes.entries.get(*index as usize) else {
                continue;
            };
            // Package metadata is captured too; only names that can hold a secret are read.
            if !is_secret_candidate(&entry.path) {
                continue;
            }
            let kind = match cap {
                Captured::Text(text) => classify(&entry.path, text),
                // Classified when it was read (a layer from the cache keeps no bytes).
                Captured::Credential(kind) => Some(kind.as_str()),
                Captured::Elf(_) => None,
            };
            let Some(kind) = kind else {
                continue;
            };
            // Still visible in the final image, or only in the layer that wrote it?
            let visible = tree
                .lookup(&entry.path)
                .and_then(|id| tree.final_state(id))
                .and_then(|e| e.inode)
                .is_some_and(|i| {
                    tree.inodes[i as usize].layer == layer.index as u32
                        && tree.inodes[i as usize].entry == *index
                });
            let note = if visible {
                kind.to_owned()
            } else {
                format!(
                    "{kind}; hidden by a later layer but still shipped in layer {}",
                    layer.index
                )
            };
            out.push((
                Item {
                    name: entry.path.clone(),
                    bytes: entry.size,
                    layer: Some(layer.index as u32),
                    note,
                },
                test_fixture(&entry.path),
            ));
        }
    }
    out
}

pub(super) fn secrets(ctx: &Context, rule: &Rule) -> Vec<Draft> {
    let mut items: Vec<Item> = credential_files(ctx)
        .into_iter()
        .filter(|(_, fixture)| fixture.is_none())
        .map(|(item, _)| item)
        .collect();
    for layer in &ctx.image.layers {
        if let Some(h) = &layer.history {
            for name in secret_assignments(&h.created_by) {
                items.push(Item {
                    name: format!("history of layer {}: {name}", layer.index),
                    bytes: 0,
                    layer: Some(layer.index as u32),
                    note: "build argument or variable with a credential-like name, recorded in the image history".into(),
                });
            }
        }
    }
    for h in ctx.image.history.iter().filter(|h| h.empty_layer) {
        for name in secret_assignments(&h.created_by) {
            items.push(Item {
                name: format!("history: {name}"),
                bytes: 0,
                layer: None,
                note: "set in a Dockerfile instruction recorded in the history".into(),
            });
        }
    }
    for name in secret_assignments(&ctx.image.config.env.join(" ")) {
        if !items.iter().any(|i| i.name.ends_with(&format!(": {name}"))) {
            items.push(Item {
                name: format!("ENV {name}"),
                bytes: 0,
                layer: None,
                note: "credential-like variable in the image config".into(),
            });
        }
    }
    if items.is_empty() {
        return Vec::new();
    }
    let count = items.len() as u64;
    let kinds: Vec<String> = {
        let mut k: Vec<String> = items
            .iter()
            .map(|i| i.note.split(';').next().unwrap_or("").to_owned())
            .collect();
        k.sort();
        k.dedup();
        k
    };
    let summary = format!("{count} found: {}", kinds.join(", "));
    finish(rule, summary, items)
}

fn finish(rule: &Rule, summary: String, mut items: Vec<Item>) -> Vec<Draft> {
    // Order by layer, not size: the oldest leak first.
    let mut d = Draft::new(rule, summary);
    d.finding.count = items.len() as u64;
    items.sort_by(|a, b| a.layer.cmp(&b.layer).then_with(|| a.name.cmp(&b.name)));
    items.truncate(ITEMS_PER_FINDING);
    d.finding.items = items;
    vec![d]
}
