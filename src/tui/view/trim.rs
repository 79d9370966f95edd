use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Gauge, Paragraph, Widget, Wrap};

use super::{clip, pane_block, size};
use crate::core::trim_session::Decision;
use crate::tui::app::App;
use crate::tui::theme::Theme;

/// The trimming session: one finding at a time, biggest first, and the projected size.
pub struct TrimOverlay<'a> {
    pub app: &'a App,
    pub theme: &'a Theme,
}

impl Widget for TrimOverlay<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let Some(t) = self.app.trim.as_ref() else {
            return;
        };
        let th = self.theme;
        let ex = &self.app.ex;
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
        let block = pane_block(title, true, th);
        let inner = block.inner(popup);
        block.render(popup, buf);
        if inner.height < 4 {
            return;
        }
        // The projected size, always on top.
        let p = &t.projection;
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
            .gauge_style(th.key())
            .ratio(ratio.clamp(0.0, 1.0))
            .label(Span::styled(label, th.text()))
            .render(Rect::new(inner.x, inner.y, inner.width, 1), buf);
        let body = Rect::new(inner.x, inner.y + 2, inner.width, inner.height - 2);
        let w = body.width as usize;
        let mut lines: Vec<Line> = Vec::new();
        if t.finishing {
            let accepted = s
                .decisions
                .iter()
                .filter(|d| **d == Some(Decision::Accept))
                .count();
            let skipped = s
                .decisions
                .iter()
                .filter(|d| **d == Some(Decision::Skip))
                .count();
            lines.push(Line::from(Span::styled(
                format!(
                    "{accepted} accepted, {skipped} skipped, {} undecided",
                    total - accepted - skipped
                ),
                th.title(),
            )));
            for (step, &i) in s.order.iter().enumerate() {
                let f = &ex.findings.findings[i];
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
                    Some(Decision::Accept) => {
                        ("✓", th.change(Some(crate::core::tree::Change::Added)))
                    }
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
            if !p.problems.is_empty() {
                lines.push(Line::from(""));
                lines.push(Line::from(Span::styled(
                    "The trimmed image cannot be written with these decisions (u undoes):",
                    th.severity(crate::core::findings::Severity::High),
                )));
                for problem in &p.problems {
                    lines.push(Line::from(Span::styled(format!("  {problem}"), th.text())));
                }
            }
            lines.push(Line::from(""));
            let df = match &self.app.dockerfile {
                Some((name, _)) => format!("a patch of {name}"),
                None => "the changes in words (no Dockerfile given: -f makes a patch)".into(),
            };
            lines.push(Line::from(Span::styled(
                format!("Writes a report, {df}, and the decisions, to:"),
                th.text(),
            )));
            lines.push(Line::from(vec![
                Span::styled("  prefix ", th.header()),
                Span::styled(format!("{}▏", t.prefix), th.key()),
            ]));
            if let Some(m) = &t.message {
                lines.push(Line::from(Span::styled(m.clone(), th.header())));
            }
            let keys = if t.written {
                "i write the trimmed image PREFIX.tar   Enter/Esc back to the explorer"
            } else {
                "Enter write   type to change the prefix   Esc back to the findings   Ctrl-C quit, writing nothing"
            };
            lines.push(Line::from(Span::styled(keys, th.dim())));
        } else if let Some(&i) = s.order.get(s.cursor) {
            let f = &ex.findings.findings[i];
            lines.push(Line::from(vec![
                Span::styled(
                    format!("[{}] ", f.severity.as_str()),
                    th.severity(f.severity),
                ),
                Span::styled(f.title.clone(), th.title()),
                Span::styled(format!("  {}", size(f.bytes)), th.header()),
            ]));
            lines.push(Line::from(Span::styled(f.summary.clone(), th.text())));
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
            if let Some(why) = crate::core::trim_image::not_by_removal(&f.rule) {
                lines.push(Line::from(Span::styled(
                    format!("The trimmed image does not remove these paths: {why}"),
                    th.header(),
                )));
            }
            if !t.if_accepted.is_empty() {
                lines.push(Line::from(Span::styled(
                    "Cannot be applied as it is: accepting it would break the app:",
                    th.severity(crate::core::findings::Severity::High),
                )));
                for problem in &t.if_accepted {
                    lines.push(Line::from(Span::styled(format!("  {problem}"), th.text())));
                }
            }
            lines.push(Line::from(""));
            lines.push(Line::from(Span::styled(
                "y accept   n skip   u undo   f finish   q/Esc cancel (writes nothing)",
                th.key(),
            )));
        }
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .render(body, buf);
    }
}
