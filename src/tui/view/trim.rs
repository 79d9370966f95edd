//! The trimming session's overlay, in parts that each draw one thing: the frame, the gauge of
//! the projected size, and either the current step (one finding) or the summary (every
//! decision, what blocks the trimmed image, the prefix and the keys).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Gauge, Paragraph, Widget, Wrap};

use super::{clip, pane_block, size};
use crate::core::findings::{Finding, Severity};
use crate::core::trim_session::Decision;
use crate::tui::action::{Actions, FinishAction, TrimAction};
use crate::tui::app::{App, TrimState};
use crate::tui::theme::Theme;

/// The trimming session: one finding at a time, biggest first, and the projected size.
pub struct TrimOverlay<'a> {
    pub app: &'a App,
    pub theme: &'a Theme,
}

impl Widget for TrimOverlay<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let Some(t) = self.app.trim() else {
            return;
        };
        let inner = self.frame(t, area, buf);
        if inner.height < 4 {
            return;
        }
        ProjectionGauge {
            t,
            theme: self.theme,
        }
        .render(Rect::new(inner.x, inner.y, inner.width, 1), buf);
        let body = Rect::new(inner.x, inner.y + 2, inner.width, inner.height - 2);
        let w = body.width as usize;
        let lines = if t.finishing {
            self.summary_lines(t, w, body.height as usize)
        } else {
            self.step_lines(t, w)
        };
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .render(body, buf);
    }
}

impl TrimOverlay<'_> {
    /// The popup, cleared, with its border and title (the step, or "finish"); returns inside.
    fn frame(&self, t: &TrimState, area: Rect, buf: &mut Buffer) -> Rect {
        let width = area.width.saturating_sub(4).min(120);
        let height = area.height.saturating_sub(2).min(30);
        let popup = Rect::new(area.x + (area.width - width) / 2, area.y + 1, width, height);
        Clear.render(popup, buf);
        let s = &t.session;
        let total = s.order.len();
        let title = if t.finishing {
            "Trim · finish".to_owned()
        } else {
            format!("Trim · {}/{}", (s.cursor + 1).min(total), total)
        };
        let block = pane_block(title, true, self.theme);
        let inner = block.inner(popup);
        block.render(popup, buf);
        inner
    }

    /// A key as the prose of the overlay names it: "Ctrl-C", not "C-c".
    fn key<A: Actions>(&self, action: A) -> String {
        self.keys(action).into_iter().next().unwrap_or_default()
    }

    fn keys<A: Actions>(&self, action: A) -> Vec<String> {
        self.app
            .keymap
            .keys_for(action)
            .into_iter()
            .map(|k| match k.strip_prefix("C-") {
                Some(rest) => format!("Ctrl-{}", rest.to_uppercase()),
                None => k,
            })
            .collect()
    }

    /// The current finding: what, where, why, the fix, its biggest paths, and what accepting
    /// it would break.
    fn step_lines(&self, t: &TrimState, w: usize) -> Vec<Line<'static>> {
        let th = self.theme;
        let s = &t.session;
        let Some(&i) = s.order.get(s.cursor) else {
            return Vec::new();
        };
        let f = &self.app.ex.findings.findings[i];
        let mut lines = finding_lines(f, th, w);
        if let Some(why) = crate::core::trim_image::not_by_removal(&f.rule) {
            lines.push(Line::from(Span::styled(
                format!("The trimmed image does not remove these paths: {why}"),
                th.header(),
            )));
        }
        if !t.if_accepted.is_empty() {
            lines.push(Line::from(Span::styled(
                "Cannot be applied as it is: accepting it would break the app:",
                th.severity(Severity::High),
            )));
            lines.extend(problem_lines(&t.if_accepted, th));
        }
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(
            format!(
                "{} accept   {} skip   {} undo   {} finish   {} cancel (writes nothing)",
                self.key(TrimAction::Accept),
                self.key(TrimAction::Skip),
                self.key(TrimAction::Undo),
                self.key(TrimAction::Finish),
                self.keys(TrimAction::Cancel).join("/"),
            ),
            th.key(),
        )));
        lines
    }

    /// The summary: the count, each decision, what blocks the trimmed image, then where the
    /// outputs go and the keys. On a short screen the decisions give up rows first, so the
    /// prefix, the last write's message and the keys stay in view.
    fn summary_lines(&self, t: &TrimState, w: usize, h: usize) -> Vec<Line<'static>> {
        let th = self.theme;
        let mut tail = Vec::new();
        let problems = &t.projection.problems;
        if !problems.is_empty() {
            tail.push(Line::from(""));
            tail.push(Line::from(Span::styled(
                "The trimmed image cannot be written with these decisions (u undoes):",
                th.severity(Severity::High),
            )));
            tail.extend(problem_lines(problems, th));
        }
        tail.push(Line::from(""));
        tail.extend(self.output_lines(t));
        let mut lines = decision_lines(self.app, t, th, w);
        let tail_rows: usize = tail.iter().map(|l| rows_of(l, w)).sum();
        let room = h.saturating_sub(tail_rows);
        if lines.len() > room && room >= 2 {
            // The count, then as many decisions as fit with a line for the rest.
            let hidden = lines.len() - (room - 1);
            lines.truncate(room - 1);
            lines.push(Line::from(Span::styled(
                format!("   … {hidden} more"),
                th.dim(),
            )));
        }
        lines.extend(tail);
        lines
    }

    /// Where the outputs go, the last write's message, and the keys.
    fn output_lines(&self, t: &TrimState) -> Vec<Line<'static>> {
        let th = self.theme;
        let df = match &self.app.dockerfile {
            Some((name, _)) => format!("a patch of {name}"),
            None => "the changes in words (no Dockerfile given: -f makes a patch)".into(),
        };
        let mut lines = vec![
            Line::from(Span::styled(
                format!("Writes a report, {df}, and the decisions, to:"),
                th.text(),
            )),
            Line::from(vec![
                Span::styled("  prefix ", th.header()),
                Span::styled(format!("{}▏", t.prefix), th.key()),
            ]),
        ];
        if let Some(m) = &t.message {
            lines.push(Line::from(Span::styled(m.clone(), th.header())));
        }
        let keys = if t.written {
            format!(
                "{} write the trimmed image PREFIX.tar   {}/{} back to the explorer",
                self.key(FinishAction::WriteImage),
                self.key(FinishAction::Write),
                self.key(FinishAction::Back),
            )
        } else {
            format!(
                "{} write   type to change the prefix   {} back to the findings   {} quit, writing nothing",
                self.key(FinishAction::Write),
                self.key(FinishAction::Back),
                self.key(FinishAction::Quit),
            )
        };
        lines.push(Line::from(Span::styled(keys, th.dim())));
        lines
    }
}

/// The gauge of the trimmed image's projected size, always on top.
struct ProjectionGauge<'a> {
    t: &'a TrimState,
    theme: &'a Theme,
}

impl Widget for ProjectionGauge<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let p = &self.t.projection;
        let ratio = if p.before > 0 {
            p.after as f64 / p.before as f64
        } else {
            1.0
        };
        let mut label = format!(
            "trimmed image {} → {}  (−{}, −{:.1}%)",
            size(p.before),
            size(p.after),
            size(p.saved()),
            (1.0 - ratio) * 100.0
        );
        if let Some(saved) = p.patch_saved {
            label.push_str(&format!("   patch −{}", size(saved)));
        }
        Gauge::default()
            .gauge_style(self.theme.key())
            .ratio(ratio.clamp(0.0, 1.0))
            .label(Span::styled(label, self.theme.text()))
            .render(area, buf);
    }
}

/// One finding as a step shows it: severity and title, summary, layers, why, fix, paths.
fn finding_lines(f: &Finding, th: &Theme, w: usize) -> Vec<Line<'static>> {
    let mut lines = vec![
        Line::from(vec![
            Span::styled(
                format!("[{}] ", f.severity.as_str()),
                th.severity(f.severity),
            ),
            Span::styled(f.title.clone(), th.title()),
            Span::styled(format!("  {}", size(f.bytes)), th.header()),
        ]),
        Line::from(Span::styled(f.summary.clone(), th.text())),
    ];
    for l in f.layers.iter().take(2) {
        lines.push(Line::from(Span::styled(
            format!(
                "layer {} ({}): {}",
                l.layer,
                size(l.bytes),
                clip(&l.instruction, w.saturating_sub(24))
            ),
            th.dim(),
        )));
    }
    lines.push(Line::from(vec![
        Span::styled("why ", th.header()),
        Span::styled(f.why.clone(), th.text()),
    ]));
    lines.push(Line::from(vec![
        Span::styled("fix ", th.header()),
        Span::styled(f.fix.clone(), th.key()),
    ]));
    for item in f.items.iter().take(5) {
        lines.push(Line::from(Span::styled(
            format!(
                "  {:>10}  /{}",
                size(item.bytes),
                clip(&item.name, w.saturating_sub(16))
            ),
            th.dim(),
        )));
    }
    lines
}

/// How many were accepted, skipped and left, then one row per finding with its mark and,
/// with a Dockerfile, what its patch saves.
fn decision_lines(app: &App, t: &TrimState, th: &Theme, w: usize) -> Vec<Line<'static>> {
    let s = &t.session;
    let count = |d: Decision| s.decisions.iter().filter(|x| **x == Some(d)).count();
    let (accepted, skipped) = (count(Decision::Accept), count(Decision::Skip));
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "{accepted} accepted, {skipped} skipped, {} undecided",
            s.order.len() - accepted - skipped
        ),
        th.title(),
    ))];
    for (step, &i) in s.order.iter().enumerate() {
        let f = &app.ex.findings.findings[i];
        let patch = t
            .patch
            .iter()
            .find(|o| o.key == s.keys[step])
            .map(|o| {
                if o.saved == 0 {
                    "   patch: manual, 0 B".to_owned()
                } else {
                    format!("   patch −{}", size(o.saved))
                }
            })
            .unwrap_or_default();
        let (mark, style) = match s.decisions[step] {
            Some(Decision::Accept) => ("✓", th.change(Some(crate::core::tree::Change::Added))),
            Some(Decision::Skip) => ("·", th.dim()),
            None => (" ", th.dim()),
        };
        lines.push(Line::from(Span::styled(
            format!(
                " {mark} {:>10}  {}{patch}",
                size(f.bytes),
                clip(&f.title, w.saturating_sub(16 + patch.chars().count()))
            ),
            style,
        )));
    }
    lines
}

/// Rows a line takes once wrapped to `w` columns.
fn rows_of(line: &Line, w: usize) -> usize {
    line.width().div_ceil(w.max(1)).max(1)
}

/// What would break, one problem a line.
fn problem_lines(problems: &[String], th: &Theme) -> Vec<Line<'static>> {
    problems
        .iter()
        .map(|p| Line::from(Span::styled(format!("  {p}"), th.text())))
        .collect()
}
