//! The guided trimming session inside the explorer: a screen of its own (state, `handle` for
//! the steps and `finish` for the summary, view/trim.rs to draw it), and what the loop
//! reports back after writing the outputs.

use crossterm::event::KeyEvent;

use super::{App, Effect, Mode};
use crate::core::findings::RuleSet;
use crate::core::image::Image;
use crate::core::trim_session::{Decision, Projection, Session};
use crate::core::Examination;
use crate::tui::action::{FinishAction, TrimAction};
use crate::tui::keymap::Input;

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

/// What the session reads of the explorer: the image, its examination, the rules, and the
/// user's Dockerfile (name, text).
pub struct TrimContext<'a> {
    pub image: &'a Image,
    pub ex: &'a Examination,
    pub rules: &'a RuleSet,
    pub dockerfile: Option<&'a (String, String)>,
}

/// What the session asks of the explorer under it.
pub enum TrimOutcome {
    Stay,
    /// Leave the session, writing nothing.
    Cancel,
    /// The outputs are written: back to the explorer.
    Done,
    Quit,
    /// Something to write, for the loop.
    Effect(Effect),
}

impl TrimState {
    /// A new session over the image's findings, with its figures worked out.
    pub fn new(prefix: String, ctx: &TrimContext) -> TrimState {
        let session = Session::new(ctx.ex);
        let mut t = TrimState {
            finishing: session.done(),
            session,
            prefix,
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
        t.refresh(ctx);
        t
    }

    /// Works the figures and the live safety check out again after a decision changed.
    fn refresh(&mut self, ctx: &TrimContext) {
        let df = ctx
            .dockerfile
            .map(|(_, text)| crate::core::dockerfile::Dockerfile::parse(text));
        self.projection = self.session.projection(ctx.image, ctx.ex, ctx.rules, None);
        if let Some(df) = &df {
            let plan = crate::core::trim_session::patch::plan(
                &self.session,
                ctx.image,
                ctx.ex,
                ctx.rules,
                df,
            );
            self.projection.patch_saved = Some(plan.saved());
            self.patch = plan.outcomes;
        }
        self.if_accepted = self.session.problems_if_accepted(
            ctx.image,
            ctx.ex,
            ctx.rules,
            &self.projection.problems,
        );
    }

    /// One action of a step: accept, skip, undo, finish, cancel.
    pub fn handle(&mut self, action: TrimAction, ctx: &TrimContext) -> TrimOutcome {
        let before = (self.session.decisions.clone(), self.session.cursor);
        match action {
            TrimAction::Accept => self.session.decide(Decision::Accept),
            TrimAction::Skip => self.session.decide(Decision::Skip),
            TrimAction::Undo => self.session.undo(),
            TrimAction::Finish => self.finishing = true,
            TrimAction::Cancel => return TrimOutcome::Cancel,
            TrimAction::Quit => return TrimOutcome::Quit,
        }
        if self.session.done() {
            self.finishing = true;
        }
        if (self.session.decisions.clone(), self.session.cursor) != before {
            self.refresh(ctx);
        }
        TrimOutcome::Stay
    }

    /// One action of the summary: write, back, the trimmed image.
    pub fn finish(&mut self, action: FinishAction, ctx: &TrimContext) -> TrimOutcome {
        match action {
            FinishAction::Quit => return TrimOutcome::Quit,
            FinishAction::Write | FinishAction::Back if self.written => return TrimOutcome::Done,
            FinishAction::Back => {
                self.finishing = false;
                if self.session.done() {
                    self.session.undo();
                    self.refresh(ctx);
                }
            }
            FinishAction::Write => {
                let df = ctx.dockerfile.map(|(n, s)| (n.as_str(), s.as_str()));
                let out =
                    crate::report::trim::build(ctx.image, ctx.ex, ctx.rules, &self.session, df);
                return TrimOutcome::Effect(Effect::WriteTrim(Box::new(out), self.prefix.clone()));
            }
            // After the session's files: the trimmed image itself, beside them.
            FinishAction::WriteImage if self.written => {
                let path = std::path::PathBuf::from(format!("{}.tar", self.prefix));
                match crate::core::trim_image::checked_plan(
                    ctx.image,
                    ctx.ex,
                    &self.session,
                    ctx.rules,
                ) {
                    Ok(plan) => {
                        self.message = Some(format!("writing {}…", path.display()));
                        return TrimOutcome::Effect(Effect::WriteTrimmedImage(
                            Box::new(plan),
                            path,
                        ));
                    }
                    Err(e) => self.message = Some(e.to_string()),
                }
            }
            // Before writing, the key types into the prefix like any other.
            FinishAction::WriteImage => {}
            FinishAction::DeleteChar => {
                if !self.written {
                    self.prefix.pop();
                }
            }
        }
        TrimOutcome::Stay
    }

    /// A typed character goes into the prefix, until the outputs are written.
    pub fn type_char(&mut self, c: char) {
        if !self.written {
            self.prefix.push(c);
        }
    }
}

impl App {
    fn trim_context(&self) -> TrimContext<'_> {
        TrimContext {
            image: &self.image,
            ex: &self.ex,
            rules: &self.rules,
            dockerfile: self.dockerfile.as_ref(),
        }
    }

    pub(super) fn start_trim(&mut self) {
        let t = TrimState::new(self.trim_prefix.clone(), &self.trim_context());
        self.trim = Some(t);
        self.mode = Mode::Trim;
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
        let ctx = self.trim_context();
        let outcome = if t.finishing {
            match self.keymap.input::<FinishAction>(key) {
                // The image key types its letter until there are outputs to go beside.
                Some(Input::Action(FinishAction::WriteImage)) if !t.written => {
                    if let Some(c) = crate::tui::keymap::typed(key) {
                        t.type_char(c);
                    }
                    TrimOutcome::Stay
                }
                Some(Input::Action(a)) => t.finish(a, &ctx),
                Some(Input::Char(c)) => {
                    t.type_char(c);
                    TrimOutcome::Stay
                }
                None => TrimOutcome::Stay,
            }
        } else {
            match self.keymap.action::<TrimAction>(key) {
                Some(a) => t.handle(a, &ctx),
                None => TrimOutcome::Stay,
            }
        };
        self.trim = Some(t);
        match outcome {
            TrimOutcome::Stay => {}
            TrimOutcome::Cancel => self.cancel_trim(),
            TrimOutcome::Done => self.mode = Mode::Normal,
            TrimOutcome::Quit => self.quit = true,
            TrimOutcome::Effect(e) => self.effect = Some(e),
        }
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
