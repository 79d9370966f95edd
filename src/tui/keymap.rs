//! Keys as data: assets/keymap.toml (embedded) maps action names to keys; a user file changes
//! only the actions it names.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;
use crate::error::{Error, Result};

pub const DEFAULT_KEYMAP: &str = include_str!("../../assets/keymap.toml");

#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: Vec<(KeyCode, KeyModifiers, Action)>,
}

fn parse_key(spec: &str) -> Option<(KeyCode, KeyModifiers)> {
    let (mods, rest) = match spec.strip_prefix("ctrl-") {
        Some(r) => (KeyModifiers::CONTROL, r),
        None => (KeyModifiers::NONE, spec),
    };
    let code = match rest {
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        "pageup" => KeyCode::PageUp,
        "pagedown" => KeyCode::PageDown,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "enter" => KeyCode::Enter,
        "esc" => KeyCode::Esc,
        "tab" => KeyCode::Tab,
        "backtab" => KeyCode::BackTab,
        "space" => KeyCode::Char(' '),
        f if f.len() > 1 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
            KeyCode::F(f[1..].parse().ok()?)
        }
        c if c.chars().count() == 1 => KeyCode::Char(c.chars().next()?),
        _ => return None,
    };
    Some((code, mods))
}

fn parse(input: &str, text: &str) -> Result<BTreeMap<String, Vec<String>>> {
    toml::from_str(text).map_err(|e| Error::parse(input, e))
}

impl Keymap {
    pub fn load(user: Option<(&str, &str)>) -> Result<Keymap> {
        let mut table = parse("assets/keymap.toml", DEFAULT_KEYMAP)?;
        if let Some((input, text)) = user {
            for (k, v) in parse(input, text)? {
                if Action::from_name(&k).is_none() {
                    return Err(Error::corrupt(input, format!("unknown action {k:?}")));
                }
                table.insert(k, v);
            }
        }
        let mut bindings = Vec::new();
        for (name, keys) in &table {
            let action = Action::from_name(name)
                .ok_or_else(|| Error::corrupt("keymap", format!("unknown action {name:?}")))?;
            for k in keys {
                let (code, mods) = parse_key(k).ok_or_else(|| {
                    Error::corrupt("keymap", format!("{name}: cannot read key {k:?}"))
                })?;
                bindings.push((code, mods, action));
            }
        }
        Ok(Keymap { bindings })
    }

    pub fn action(&self, key: KeyEvent) -> Option<Action> {
        // Shifted letters arrive as uppercase chars, sometimes with SHIFT set: ignore SHIFT.
        let mods = key.modifiers - KeyModifiers::SHIFT;
        self.bindings
            .iter()
            .find(|(c, m, _)| *c == key.code && *m == mods)
            .map(|(_, _, a)| *a)
    }

    /// The first key bound to an action, for the footer and help.
    pub fn key_for(&self, action: Action) -> String {
        self.keys_for(action).into_iter().next().unwrap_or_default()
    }

    pub fn keys_for(&self, action: Action) -> Vec<String> {
        self.bindings
            .iter()
            .filter(|(_, _, a)| *a == action)
            .map(|(c, m, _)| {
                let key = match c {
                    KeyCode::Char(' ') => "Space".to_owned(),
                    KeyCode::Char(ch) => ch.to_string(),
                    KeyCode::Up => "↑".into(),
                    KeyCode::Down => "↓".into(),
                    KeyCode::Left => "←".into(),
                    KeyCode::Right => "→".into(),
                    KeyCode::PageUp => "PgUp".into(),
                    KeyCode::PageDown => "PgDn".into(),
                    KeyCode::BackTab => "S-Tab".into(),
                    KeyCode::F(n) => format!("F{n}"),
                    other => format!("{other:?}"),
                };
                if m.contains(KeyModifiers::CONTROL) {
                    format!("C-{key}")
                } else {
                    key
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_keys_and_user_overrides() {
        let km = Keymap::load(None).unwrap();
        assert_eq!(
            km.action(KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE)),
            Some(Action::Down)
        );
        assert_eq!(
            km.action(KeyEvent::new(KeyCode::Char('a'), KeyModifiers::CONTROL)),
            Some(Action::FilterAdded)
        );
        assert_eq!(
            km.action(KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Action::Bottom)
        );
        let km = Keymap::load(Some(("user.toml", "down = [\"n\"]\n"))).unwrap();
        assert_eq!(
            km.action(KeyEvent::new(KeyCode::Char('n'), KeyModifiers::NONE)),
            Some(Action::Down)
        );
        assert_eq!(
            km.action(KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(
            km.action(KeyEvent::new(KeyCode::Char('k'), KeyModifiers::NONE)),
            Some(Action::Up)
        );
        let err = Keymap::load(Some(("user.toml", "fly = [\"f\"]\n")))
            .unwrap_err()
            .to_string();
        assert_eq!(err, "user.toml: unknown action \"fly\"");
    }
}
