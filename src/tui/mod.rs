//! The terminal UI: `pyslim explore` (and `pyslim trim`) and `pyslim compare --explore`.
//!
//! Each screen is a component with its own state, its own actions (action.rs) bound in its
//! own section of the keymap (keymap.rs, assets/keymap.toml), a `handle(action)` that alone
//! changes that state, and a view that only reads it (view/):
//!
//! | screen   | state and `handle`        | keymap section              | view                 |
//! |----------|---------------------------|-----------------------------|----------------------|
//! | loading  | `loading::Loading`        | `[loading]`                 | `loading::LoadingView` |
//! | explorer | `app::App` (`update`)     | `[explorer]`                | `view::draw`         |
//! | search   | `app::SearchState`        | `[search]`                  | `view/search.rs`     |
//! | trim     | `app::TrimState`          | `[trim]`, `[trim-finish]`   | `view/trim.rs`       |
//! | compare  | `compare::CompareApp`     | `[compare]`, `[compare-search]` | `view::CompareView` |
//!
//! One loop (run.rs) runs every screen: events come from one channel (event.rs), what a
//! screen asks for outside itself is carried out by effects.rs, and the terminal is set up and
//! given back in one place (terminal.rs). Themes are theme.rs; the tree pane's rows are
//! treeview.rs; the path index is search.rs.

pub mod action;
pub mod app;
pub mod compare;
pub mod effects;
pub mod event;
pub mod keymap;
pub mod loading;
pub use loading::draw_loading;
pub mod run;
pub mod search;
pub mod terminal;
pub mod theme;
pub mod treeview;
pub mod view;

pub use effects::write_trimmed_image;
pub use run::{run, run_in_terminal, Screen};

use crate::error::{Error, Result};

/// The user's keymap: `--keymap FILE`, else ~/.config/pyslim/keymap.toml if there is one,
/// laid over the built-in keys.
pub fn user_keymap(path: Option<&std::path::Path>) -> Result<keymap::Keymap> {
    let user = match path {
        Some(p) => Some((
            p.display().to_string(),
            std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?,
        )),
        None => std::env::var_os("HOME")
            .map(|h| std::path::Path::new(&h).join(".config/pyslim/keymap.toml"))
            .filter(|p| p.is_file())
            .and_then(|p| {
                std::fs::read_to_string(&p)
                    .ok()
                    .map(|t| (p.display().to_string(), t))
            }),
    };
    keymap::Keymap::load(user.as_ref().map(|(n, t)| (n.as_str(), t.as_str())))
}
