//! What a key asks the explorer to do. Keys map to actions (keymap.rs); `App::update` is the
//! only place that acts on them.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Quit,
    Help,
    NextPane,
    PrevPane,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Collapse,
    Expand,
    Toggle,
    ExpandAll,
    CollapseAll,
    PrevLayer,
    NextLayer,
    Scope,
    FilterAdded,
    FilterModified,
    FilterRemoved,
    FilterBloat,
    FilterWasted,
    ClearFilter,
    MinSize,
    Sort,
    Search,
    Trim,
}

impl Action {
    pub const ALL: &'static [(Action, &'static str, &'static str)] = &[
        (Action::Quit, "quit", "quit"),
        (Action::Help, "help", "show or hide this help"),
        (Action::NextPane, "next-pane", "next pane"),
        (Action::PrevPane, "prev-pane", "previous pane"),
        (Action::Up, "up", "move up"),
        (Action::Down, "down", "move down"),
        (Action::PageUp, "page-up", "page up"),
        (Action::PageDown, "page-down", "page down"),
        (Action::Top, "top", "first row"),
        (Action::Bottom, "bottom", "last row"),
        (
            Action::Collapse,
            "collapse",
            "collapse the directory (or go to its parent)",
        ),
        (Action::Expand, "expand", "expand the directory"),
        (
            Action::Toggle,
            "toggle",
            "expand or collapse; on a finding, show its first path",
        ),
        (Action::ExpandAll, "expand-all", "expand every directory"),
        (
            Action::CollapseAll,
            "collapse-all",
            "collapse every directory",
        ),
        (Action::PrevLayer, "prev-layer", "previous layer"),
        (Action::NextLayer, "next-layer", "next layer"),
        (
            Action::Scope,
            "scope",
            "tree: this layer's changes only, or the image up to it",
        ),
        (Action::FilterAdded, "filter-added", "show only added paths"),
        (
            Action::FilterModified,
            "filter-modified",
            "show only changed paths",
        ),
        (
            Action::FilterRemoved,
            "filter-removed",
            "show only removed paths",
        ),
        (
            Action::FilterBloat,
            "filter-bloat",
            "show only paths with findings",
        ),
        (
            Action::FilterWasted,
            "filter-wasted",
            "show only paths with wasted bytes",
        ),
        (Action::ClearFilter, "clear-filter", "clear filters"),
        (Action::MinSize, "min-size", "cycle the minimum size shown"),
        (Action::Sort, "sort", "sort by size or by name"),
        (Action::Search, "search", "fuzzy search every path"),
        (
            Action::Trim,
            "trim",
            "guided trimming session: accept or skip each finding",
        ),
    ];

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(a, _, _)| *a == self)
            .map(|(_, n, _)| *n)
            .unwrap_or("")
    }

    pub fn from_name(name: &str) -> Option<Action> {
        Self::ALL
            .iter()
            .find(|(_, n, _)| *n == name)
            .map(|(a, _, _)| *a)
    }

    pub fn describe(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(a, _, _)| *a == self)
            .map(|(_, _, d)| *d)
            .unwrap_or("")
    }
}
