//! The terminal, set up in one place for every screen and given back however the program
//! ends: when the guard drops (return or error), on a panic (ratatui's hook), and on SIGTERM
//! or SIGINT from `kill` (the signal thread in `temp_files` calls `restore` before exiting).

use std::io::Stdout;

use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

use crate::error::{Error, Result};

pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// The terminal in raw mode on the alternate screen, with the mouse captured, until dropped.
pub struct TerminalGuard {
    terminal: Term,
}

impl TerminalGuard {
    pub fn open() -> Result<TerminalGuard> {
        let terminal = ratatui::try_init()
            .map_err(|e| Error::Usage(format!("cannot open the terminal: {e}")))?;
        let _ = crossterm::execute!(std::io::stdout(), crossterm::event::EnableMouseCapture);
        // SIGTERM (or SIGINT from `kill`) ends the process without unwinding: give the user
        // their terminal back first.
        crate::temp_files::on_signal(Some(restore));
        Ok(TerminalGuard { terminal })
    }

    pub fn terminal(&mut self) -> &mut Term {
        &mut self.terminal
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
        crate::temp_files::on_signal(None);
    }
}

/// Mouse capture off, the alternate screen left, raw mode off, the cursor shown.
pub fn restore() {
    let _ = crossterm::execute!(std::io::stdout(), crossterm::event::DisableMouseCapture);
    let _ = ratatui::try_restore();
}
