//! Themes are files (themes/*.toml, embedded; a user file overrides only what it names). The
//! rest of the UI asks for meanings (`theme.added()`, `theme.severity(..)`), never colours.
//! NO_COLOR gives a theme without colour, where meaning is carried by symbols and bold.

use std::collections::BTreeMap;
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};

use crate::core::findings::Severity;
use crate::core::tree::Change;
use crate::error::{Error, Result};

pub const BUILTIN: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
];

#[derive(Debug, Clone)]
pub struct Theme {
    pub name: String,
    colors: BTreeMap<String, Color>,
    /// NO_COLOR: styles carry modifiers only.
    plain: bool,
}

fn parse_table(input: &str, text: &str) -> Result<(Option<String>, BTreeMap<String, Color>)> {
    let table: toml::Table = toml::from_str(text).map_err(|e| Error::parse(input, e))?;
    let mut name = None;
    let mut colors = BTreeMap::new();
    for (k, v) in table {
        let Some(s) = v.as_str() else {
            return Err(Error::corrupt(input, format!("{k} must be a string")));
        };
        if k == "name" {
            name = Some(s.to_owned());
            continue;
        }
        let c = Color::from_str(s)
            .map_err(|_| Error::corrupt(input, format!("{k} = {s:?} is not a colour")))?;
        colors.insert(k, c);
    }
    Ok((name, colors))
}

impl Theme {
    /// A built-in theme by name, or a theme file by path laid over the dark theme.
    pub fn load(choice: &str, no_color: bool) -> Result<Theme> {
        let (_, dark) = parse_table("themes/dark.toml", BUILTIN[0].1)?;
        let mut theme = Theme {
            name: "dark".into(),
            colors: dark,
            plain: no_color,
        };
        if let Some((_, text)) = BUILTIN.iter().find(|(n, _)| *n == choice) {
            let (name, colors) = parse_table(choice, text)?;
            theme.colors.extend(colors);
            theme.name = name.unwrap_or_else(|| choice.to_owned());
        } else {
            let text = std::fs::read_to_string(choice).map_err(|_| {
                Error::Usage(format!(
                    "unknown theme {choice:?}: use {} or a theme file's path",
                    BUILTIN
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
            let (name, colors) = parse_table(choice, &text)?;
            theme.colors.extend(colors);
            theme.name = name.unwrap_or_else(|| choice.to_owned());
        }
        Ok(theme)
    }

    fn fg(&self, key: &str) -> Style {
        if self.plain {
            return Style::default();
        }
        Style::default().fg(self.colors.get(key).copied().unwrap_or(Color::Reset))
    }

    pub fn text(&self) -> Style {
        self.fg("text")
    }
    pub fn dim(&self) -> Style {
        if self.plain {
            Style::default().add_modifier(Modifier::DIM)
        } else {
            self.fg("dim")
        }
    }
    pub fn border(&self, focused: bool) -> Style {
        if focused {
            self.fg("border_focus").add_modifier(Modifier::BOLD)
        } else {
            self.fg("border")
        }
    }
    pub fn title(&self) -> Style {
        self.fg("title").add_modifier(Modifier::BOLD)
    }
    pub fn header(&self) -> Style {
        self.fg("header").add_modifier(Modifier::BOLD)
    }
    pub fn key(&self) -> Style {
        self.fg("key").add_modifier(Modifier::BOLD)
    }
    pub fn selection(&self) -> Style {
        if self.plain {
            return Style::default().add_modifier(Modifier::REVERSED);
        }
        Style::default()
            .bg(self
                .colors
                .get("selection_bg")
                .copied()
                .unwrap_or(Color::DarkGray))
            .fg(self
                .colors
                .get("selection_fg")
                .copied()
                .unwrap_or(Color::White))
    }
    pub fn change(&self, change: Option<Change>) -> Style {
        match change {
            Some(Change::Added) => self.fg("added"),
            Some(Change::Modified) => self.fg("modified"),
            Some(Change::Deleted) => self.fg("removed").add_modifier(Modifier::CROSSED_OUT),
            None => self.text(),
        }
    }
    pub fn wasted(&self) -> Style {
        self.fg("wasted")
    }
    pub fn severity(&self, s: Severity) -> Style {
        let style = self.fg(s.as_str());
        if s >= Severity::High {
            style.add_modifier(Modifier::BOLD)
        } else {
            style
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_themes_parse_and_user_files_override_only_what_they_name() {
        for (name, _) in BUILTIN {
            assert_eq!(Theme::load(name, false).unwrap().name, *name);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mine.toml");
        std::fs::write(&path, "added = \"#00ff00\"\n").unwrap();
        let t = Theme::load(path.to_str().unwrap(), false).unwrap();
        assert_eq!(
            t.change(Some(Change::Added)).fg,
            Some(Color::Rgb(0, 255, 0))
        );
        assert_eq!(
            t.change(Some(Change::Modified)).fg,
            Some(Color::LightYellow)
        );
        std::fs::write(&path, "added = \"not-a-colour\"\n").unwrap();
        assert!(Theme::load(path.to_str().unwrap(), false)
            .unwrap_err()
            .to_string()
            .contains("is not a colour"));
        assert!(Theme::load("neon", false)
            .unwrap_err()
            .to_string()
            .contains("unknown theme"));
    }

    #[test]
    fn light_theme_draws_no_text_in_colours_that_vanish_on_white() {
        // ANSI 7 ("gray"), white and the bright ANSI colours are near-invisible on a white
        // background; hex colours must be dark enough to read (luma below 60%).
        let t = Theme::load("light", false).unwrap();
        for (key, colour) in &t.colors {
            if key == "selection_bg" {
                continue;
            }
            let readable = match colour {
                Color::Gray
                | Color::White
                | Color::Yellow
                | Color::Cyan
                | Color::LightRed
                | Color::LightGreen
                | Color::LightYellow
                | Color::LightBlue
                | Color::LightMagenta
                | Color::LightCyan => false,
                Color::Rgb(r, g, b) => {
                    0.299 * f64::from(*r) + 0.587 * f64::from(*g) + 0.114 * f64::from(*b)
                        < 0.6 * 255.0
                }
                _ => true,
            };
            assert!(
                readable,
                "light theme: {key} = {colour:?} is hard to read on white"
            );
        }
    }

    #[test]
    fn no_color_keeps_meaning_in_modifiers() {
        let t = Theme::load("dark", true).unwrap();
        assert_eq!(t.change(Some(Change::Added)).fg, None);
        assert!(t.selection().add_modifier.contains(Modifier::REVERSED));
    }
}
