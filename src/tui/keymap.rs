//! Keys as data: assets/keymap.toml (embedded) maps, screen by screen (`[explorer]`,
//! `[search]`, `[trim]`, `[trim-finish]`, `[compare]`, `[compare-search]`, `[loading]`), action
//! names to keys. A user file changes only the actions it names; its names outside any
//! section are the explorer's, as in keymaps written before screens had sections.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::{
    Action, Actions, CompareAction, CompareSearchAction, FinishAction, LoadingAction, SearchAction,
    TrimAction,
};
use crate::error::{Error, Result};

pub const DEFAULT_KEYMAP: &str = include_str!("../../assets/keymap.toml");

/// The section whose names a user file may give outside any section.
const TOP_LEVEL_SECTION: &str = "explorer";

/// Every section with the names it knows.
fn known(section: &str) -> Option<fn(&str) -> bool> {
    fn names<A: Actions>(name: &str) -> bool {
        A::from_name(name).is_some()
    }
    Some(match section {
        "explorer" => names::<Action>,
        "loading" => names::<LoadingAction>,
        "search" => names::<SearchAction>,
        "trim" => names::<TrimAction>,
        "trim-finish" => names::<FinishAction>,
        "compare" => names::<CompareAction>,
        "compare-search" => names::<CompareSearchAction>,
        _ => return None,
    })
}

const SECTIONS: &str = "explorer, loading, search, trim, trim-finish, compare, compare-search";

type Binding = (KeyCode, KeyModifiers, String);

#[derive(Debug, Clone)]
pub struct Keymap {
    /// Per section: (key, modifiers, action name), in the order the file gives them.
    sections: BTreeMap<String, Vec<Binding>>,
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
        "backspace" => KeyCode::Backspace,
        "space" => KeyCode::Char(' '),
        f if f.len() > 1 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
            KeyCode::F(f[1..].parse().ok()?)
        }
        c if c.chars().count() == 1 => KeyCode::Char(c.chars().next()?),
        _ => return None,
    };
    Some((code, mods))
}

/// A keymap file as (section, action) → keys, checked against the names each section knows.
fn parse(input: &str, text: &str) -> Result<BTreeMap<(String, String), Vec<String>>> {
    let table: toml::Table = toml::from_str(text).map_err(|e| Error::parse(input, e))?;
    let mut out = BTreeMap::new();
    let mut add = |section: &str, name: &str, keys: &toml::Value| -> Result<()> {
        let ok = known(section).ok_or_else(|| {
            Error::corrupt(
                input,
                format!("unknown section [{section}]: the sections are {SECTIONS}"),
            )
        })?;
        if !ok(name) {
            let what = if section == TOP_LEVEL_SECTION {
                format!("unknown action {name:?}")
            } else {
                format!("unknown action {name:?} in [{section}]")
            };
            return Err(Error::corrupt(input, what));
        }
        let keys = keys
            .as_array()
            .and_then(|a| a.iter().map(|k| k.as_str().map(str::to_owned)).collect())
            .ok_or_else(|| {
                Error::corrupt(input, format!("{name}: keys must be a list of strings"))
            })?;
        out.insert((section.to_owned(), name.to_owned()), keys);
        Ok(())
    };
    for (key, value) in &table {
        match value {
            toml::Value::Table(actions) => {
                for (name, keys) in actions {
                    add(key, name, keys)?;
                }
            }
            keys => add(TOP_LEVEL_SECTION, key, keys)?,
        }
    }
    Ok(out)
}

impl Keymap {
    pub fn load(user: Option<(&str, &str)>) -> Result<Keymap> {
        let mut table = parse("assets/keymap.toml", DEFAULT_KEYMAP)?;
        if let Some((input, text)) = user {
            table.extend(parse(input, text)?);
        }
        let mut sections: BTreeMap<String, Vec<Binding>> = BTreeMap::new();
        for ((section, name), keys) in &table {
            for k in keys {
                let (code, mods) = parse_key(k).ok_or_else(|| {
                    Error::corrupt(
                        "keymap",
                        format!("[{section}] {name}: cannot read key {k:?}"),
                    )
                })?;
                sections
                    .entry(section.clone())
                    .or_default()
                    .push((code, mods, name.clone()));
            }
        }
        Ok(Keymap { sections })
    }

    /// The embedded keymap alone. It is checked by a test, so it loads; were it broken, no
    /// key would act rather than the program failing.
    pub fn builtin() -> Keymap {
        Keymap::load(None).unwrap_or(Keymap {
            sections: BTreeMap::new(),
        })
    }

    fn bindings<A: Actions>(&self) -> impl Iterator<Item = (&KeyCode, &KeyModifiers, A)> {
        self.sections
            .get(A::SECTION)
            .into_iter()
            .flatten()
            .filter_map(|(c, m, name)| A::from_name(name).map(|a| (c, m, a)))
    }

    /// The action of one screen a key is bound to.
    pub fn action<A: Actions>(&self, key: KeyEvent) -> Option<A> {
        // Shifted letters arrive as uppercase chars, sometimes with SHIFT set: ignore SHIFT.
        let mods = key.modifiers - KeyModifiers::SHIFT;
        self.bindings::<A>()
            .find(|(c, m, _)| **c == key.code && **m == mods)
            .map(|(_, _, a)| a)
    }

    /// On a screen that takes text: the key's action, or else the character it types.
    pub fn input<A: Actions>(&self, key: KeyEvent) -> Option<Input<A>> {
        self.action(key)
            .map(Input::Action)
            .or_else(|| typed(key).map(Input::Char))
    }

    /// The first key bound to an action, for footers and help.
    pub fn key_for<A: Actions>(&self, action: A) -> String {
        self.keys_for(action).into_iter().next().unwrap_or_default()
    }

    /// Every key bound to an action, in the keymap's order.
    pub fn keys_for<A: Actions>(&self, action: A) -> Vec<String> {
        self.bindings::<A>()
            .filter(|(_, _, a)| *a == action)
            .map(|(c, m, _)| key_label(*c, *m))
            .collect()
    }
}

/// A key on a screen that takes text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input<A> {
    Action(A),
    Char(char),
}

/// A key as footers and help show it.
fn key_label(code: KeyCode, mods: KeyModifiers) -> String {
    let key = match code {
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
    if mods.contains(KeyModifiers::CONTROL) {
        format!("C-{key}")
    } else {
        key
    }
}

/// The character a key types into a query or a prefix, if it types one.
pub fn typed(key: KeyEvent) -> Option<char> {
    match key.code {
        KeyCode::Char(c)
            if !key
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
        {
            Some(c)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    #[test]
    fn default_keys_and_user_overrides() {
        let km = Keymap::load(None).unwrap();
        assert_eq!(km.action(key('j')), Some(Action::Down));
        assert_eq!(
            km.action(KeyEvent::new(KeyCode::Char('a'), KeyModifiers::CONTROL)),
            Some(Action::FilterAdded)
        );
        assert_eq!(
            km.action(KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Action::Bottom)
        );
        // A keymap from before sections: its names are the explorer's.
        let km = Keymap::load(Some(("user.toml", "down = [\"n\"]\n"))).unwrap();
        assert_eq!(km.action(key('n')), Some(Action::Down));
        assert_eq!(km.action::<Action>(key('j')), None);
        assert_eq!(km.action(key('k')), Some(Action::Up));
        let err = Keymap::load(Some(("user.toml", "fly = [\"f\"]\n")))
            .unwrap_err()
            .to_string();
        assert_eq!(err, "user.toml: unknown action \"fly\"");
    }

    #[test]
    fn every_screen_has_a_section_and_each_section_only_its_names() {
        let km = Keymap::load(None).unwrap();
        // The same key means something else on each screen.
        assert_eq!(km.action(key('y')), Some(TrimAction::Accept));
        assert_eq!(km.action::<SearchAction>(key('y')), None, "y types");
        assert_eq!(
            km.action(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
            Some(FinishAction::Write)
        );
        assert_eq!(km.action(key('q')), Some(CompareAction::Quit));
        assert_eq!(km.action(key('q')), Some(LoadingAction::Quit));
        assert_eq!(
            km.action(KeyEvent::new(KeyCode::Char('w'), KeyModifiers::CONTROL)),
            Some(CompareSearchAction::DeleteWord)
        );
        // A section that rebinds one action leaves the others, and the other screens, alone.
        let km = Keymap::load(Some(("user.toml", "[trim]\naccept = [\"x\"]\n"))).unwrap();
        assert_eq!(km.action(key('x')), Some(TrimAction::Accept));
        assert_eq!(km.action::<TrimAction>(key('y')), None);
        assert_eq!(km.action(key('n')), Some(TrimAction::Skip));
        assert_eq!(km.action(key('x')), Some(Action::FilterRemoved));
        let err = Keymap::load(Some(("user.toml", "[trim]\nfly = [\"f\"]\n")))
            .unwrap_err()
            .to_string();
        assert_eq!(err, "user.toml: unknown action \"fly\" in [trim]");
        let err = Keymap::load(Some(("user.toml", "[tree]\nup = [\"f\"]\n")))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("user.toml: unknown section [tree]"),
            "{err}"
        );
    }
}
