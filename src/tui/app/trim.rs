//! The guided trimming session inside the explorer: its state, its keys, and what the loop
//! reports back after writing the outputs.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{App, Mode};
use crate::core::trim_image::TrimPlan;
use crate::core::trim_session::{Decision, Projection, Session};
use crate::report::trim::TrimOutputs;

/// A guided trimming session inside the explorer.
pub struct TrimState {
    pub session: Session,
    /// All steps decided (or the user asked to finish): showing the summary and the prefix.
    pub finishing: bool,
    /// Where the outputs go (`PREFIX.md`, `PREFIX.patch`, `PREFIX.decisions.toml`), editable.
    pub prefix: String,
    /// What happened to the last write, for the screen.
    pub message: Option<String>,
    pub written: bool,
    /// The session's figures and what its image would break, as of the last decision.
    pub projection: Projection,
    /// What accepting the current step would break, shown before the user accepts it.
    pub if_accepted: Vec<String>,
    /// With a Dockerfile: what its patch does for each accepted finding.
    pub patch: Vec<crate::core::trim_session::patch::Outcome>,
}

/// What the explorer asks its loop to do outside itself (the app does no I/O).
pub enum Effect {
    WriteTrim(Box<TrimOutputs>, String),
    /// Write the trimmed image to this path, as planned (checked for safety already).
    WriteTrimmedImage(Box<TrimPlan>, std::path::PathBuf),
}

impl App {
    /// A new session over the image's findings, with its figures worked out.
    pub(super) fn start_trim(&mut self) {
        let session = Session::new(&self.ex);
        let mut t = TrimState {
            finishing: session.done(),
            session,
            prefix: self.trim_prefix.clone(),
            message: None,
            written: false,
            projection: Projection {
                before: 0,
                after: 0,
                patch_saved: None,
                problems: Vec::new(),
            },
            if_accepted: Vec::new(),
            patch: Vec::new(),
        };
        self.refresh_trim(&mut t);
        self.trim = Some(t);
        self.mode = Mode::Trim;
    }

    /// Works the figures and the live safety check out again after a decision changed.
    fn refresh_trim(&self, t: &mut TrimState) {
        let df = self
            .dockerfile
            .as_ref()
            .map(|(_, text)| crate::core::dockerfile::Dockerfile::parse(text));
        t.projection = t
            .session
            .projection(&self.image, &self.ex, &self.rules, None);
        if let Some(df) = &df {
            let plan = crate::core::trim_session::patch::plan(
                &t.session,
                &self.image,
                &self.ex,
                &self.rules,
                df,
            );
            t.projection.patch_saved = Some(plan.saved());
            t.patch = plan.outcomes;
        }
        t.if_accepted = t.session.problems_if_accepted(
            &self.image,
            &self.ex,
            &self.rules,
            &t.projection.problems,
        );
    }

    /// Leaves the session, writing nothing; `pyslim trim` (a session alone) quits.
    fn cancel_trim(&mut self) {
        self.trim = None;
        self.mode = Mode::Normal;
        if self.trim_only {
            self.quit = true;
        }
    }

    pub(super) fn trim_key(&mut self, key: KeyEvent) {
        let Some(mut t) = self.trim.take() else {
            self.mode = Mode::Normal;
            return;
        };
        let before = t.session.decisions.clone();
        let cursor = t.session.cursor;
        let cancel = self.trim_step_key(&mut t, key);
        if t.session.decisions != before || t.session.cursor != cursor {
            self.refresh_trim(&mut t);
        }
        self.trim = Some(t);
        if cancel {
            self.cancel_trim();
        }
    }

    /// One key of the session; true when it cancels the session.
    fn trim_step_key(&mut self, t: &mut TrimState, key: KeyEvent) -> bool {
        if t.finishing {
            match key.code {
                KeyCode::Esc if t.written => self.mode = Mode::Normal,
                KeyCode::Esc => {
                    t.finishing = false;
                    if t.session.done() {
                        t.session.undo();
                    }
                }
                KeyCode::Enter if t.written => self.mode = Mode::Normal,
                // After the session's files: the trimmed image itself, beside them.
                KeyCode::Char('i') if t.written => {
                    let path = std::path::PathBuf::from(format!("{}.tar", t.prefix));
                    match crate::core::trim_image::checked_plan(
                        &self.image,
                        &self.ex,
                        &t.session,
                        &self.rules,
                    ) {
                        Ok(plan) => {
                            t.message = Some(format!("writing {}…", path.display()));
                            self.effect = Some(Effect::WriteTrimmedImage(Box::new(plan), path));
                        }
                        Err(e) => t.message = Some(e.to_string()),
                    }
                }
                KeyCode::Enter => {
                    let df = self
                        .dockerfile
                        .as_ref()
                        .map(|(n, s)| (n.as_str(), s.as_str()));
                    let out = crate::report::trim::build(
                        &self.image,
                        &self.ex,
                        &self.rules,
                        &t.session,
                        df,
                    );
                    self.effect = Some(Effect::WriteTrim(Box::new(out), t.prefix.clone()));
                }
                KeyCode::Backspace if !t.written => {
                    t.prefix.pop();
                }
                KeyCode::Char(c)
                    if !t.written && !key.modifiers.contains(KeyModifiers::CONTROL) =>
                {
                    t.prefix.push(c)
                }
                _ => {}
            }
            return false;
        }
        match key.code {
            KeyCode::Char('y') | KeyCode::Char('a') | KeyCode::Enter => {
                t.session.decide(Decision::Accept)
            }
            KeyCode::Char('n') | KeyCode::Char('s') | KeyCode::Char(' ') => {
                t.session.decide(Decision::Skip)
            }
            KeyCode::Char('u') | KeyCode::Backspace => t.session.undo(),
            KeyCode::Char('f') => t.finishing = true,
            KeyCode::Char('q') | KeyCode::Esc => return true,
            _ => {}
        }
        if t.session.done() {
            t.finishing = true;
        }
        false
    }

    /// The loop reports how writing the trimmed image went (a summary, or the error).
    pub fn trim_image_written(&mut self, result: Result<String, String>) {
        if let Some(t) = self.trim.as_mut() {
            t.message = Some(match result {
                Ok(summary) | Err(summary) => summary,
            });
        }
    }

    /// The loop reports how writing the trim outputs went.
    pub fn trim_written(&mut self, result: Result<Vec<std::path::PathBuf>, String>) {
        if let Some(t) = self.trim.as_mut() {
            match result {
                Ok(paths) => {
                    t.written = true;
                    t.message = Some(format!(
                        "wrote {}",
                        paths
                            .iter()
                            .map(|p| p.display().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                Err(e) => t.message = Some(e),
            }
        }
    }
}
