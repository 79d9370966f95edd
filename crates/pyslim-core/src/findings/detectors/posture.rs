//! Runtime-posture detectors: running as root, setuid and world-writable paths, and the
//! environment variables a Python image should set.

use super::draft;
use crate::entry::EntryKind;
use crate::findings::{top_paths, Context, Draft, Item, PathItem, Rule};

pub(super) fn user_root(ctx: &Context, rule: &Rule) -> Vec<Draft> {
    let user = ctx.image.config.user.trim();
    let name = user.split(':').next().unwrap_or("");
    if !(name.is_empty() || name == "root" || name == "0") {
        return Vec::new();
    }
    let shown = if user.is_empty() {
        "USER is not set (defaults to root)".to_owned()
    } else {
        format!("USER {user}")
    };
    config_finding(rule, shown)
}

pub(super) fn mode_bits(ctx: &Context, rule: &Rule, setuid: bool) -> Vec<Draft> {
    let tree = ctx.tree;
    let mut items = Vec::new();
    for id in tree.final_nodes() {
        let Some(e) = tree.final_state(id) else {
            continue;
        };
        let hit = if setuid {
            e.kind == EntryKind::File && e.mode & 0o6000 != 0
        } else {
            e.kind == EntryKind::Dir && e.mode & 0o002 != 0 && e.mode & 0o1000 == 0
        };
        if hit {
            let kind = if !setuid {
                "world-writable"
            } else if e.mode & 0o4000 != 0 {
                "setuid"
            } else {
                "setgid"
            };
            items.push(PathItem {
                node: id,
                bytes: 0,
                layer: Some(e.layer),
                note: format!("{kind}, mode {:o}", e.mode & 0o7777),
            });
        }
    }
    if items.is_empty() {
        return Vec::new();
    }
    let count = items.len() as u64;
    let items = top_paths(ctx, items);
    let names: Vec<String> = items
        .iter()
        .take(4)
        .map(|i| format!("/{}", i.name))
        .collect();
    vec![draft(
        rule,
        format!("{count}: {}", names.join(", ")),
        count,
        items,
    )]
}

fn env_value<'a>(ctx: &'a Context, key: &str) -> Option<&'a str> {
    ctx.image
        .config
        .env
        .iter()
        .find_map(|e| e.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
}

pub(super) fn env_missing(ctx: &Context, rule: &Rule) -> Vec<Draft> {
    let Some(key) = rule.env.as_deref() else {
        return Vec::new();
    };
    if env_value(ctx, key).is_some_and(|v| !v.is_empty()) {
        return Vec::new();
    }
    vec![draft(
        rule,
        format!("{key} is not set"),
        1,
        vec![Item {
            name: key.to_owned(),
            bytes: 0,
            layer: None,
            note: String::new(),
        }],
    )]
}

pub(super) fn env_locale(ctx: &Context, rule: &Rule) -> Vec<Draft> {
    let utf8 = ["LC_ALL", "LANG"].iter().any(|k| {
        env_value(ctx, k).is_some_and(|v| {
            let v = v.to_lowercase();
            v.contains("utf-8") || v.contains("utf8")
        })
    });
    if utf8 {
        return Vec::new();
    }
    let shown = env_value(ctx, "LANG")
        .map(|v| format!("LANG={v}"))
        .unwrap_or_else(|| "LANG is not set".into());
    config_finding(rule, shown)
}

pub(super) fn env_hashseed(ctx: &Context, rule: &Rule) -> Vec<Draft> {
    match env_value(ctx, "PYTHONHASHSEED") {
        Some(v) if !v.is_empty() && v != "random" => {
            let shown = format!("PYTHONHASHSEED={v}");
            config_finding(rule, shown)
        }
        _ => Vec::new(),
    }
}

/// A finding about the image's configuration: one item, no bytes.
fn config_finding(rule: &Rule, shown: String) -> Vec<Draft> {
    let item = Item {
        name: shown.clone(),
        bytes: 0,
        layer: None,
        note: String::new(),
    };
    vec![draft(rule, shown, 1, vec![item])]
}
