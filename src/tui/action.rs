//! What a key asks a screen to do. Every screen has its own set of actions and its own
//! section of the keymap (keymap.rs, assets/keymap.toml); each screen's `handle` is the only
//! place that acts on them. Typed text (the search query, the trim prefix) is not an action:
//! a key no action of the screen claims types its character.

/// The actions of one screen: the keymap section that binds them, and each action's name
/// there and what the help says of it.
pub trait Actions: Copy + Eq + 'static {
    /// The keymap section, `[explorer]`, `[search]` …
    const SECTION: &'static str;
    /// (action, name in the keymap, what it does).
    const ALL: &'static [(Self, &'static str, &'static str)];

    fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(a, _, _)| *a == self)
            .map(|(_, n, _)| *n)
            .unwrap_or("")
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(_, n, _)| *n == name)
            .map(|(a, _, _)| *a)
    }

    fn describe(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(a, _, _)| *a == self)
            .map(|(_, _, d)| *d)
            .unwrap_or("")
    }
}

/// One screen's actions: the enum and its `Actions` table, from one list.
macro_rules! actions {
    ($(#[$doc:meta])* $name:ident in $section:literal {
        $($variant:ident = $key:literal : $what:literal,)*
    }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)*
        }

        impl Actions for $name {
            const SECTION: &'static str = $section;
            const ALL: &'static [(Self, &'static str, &'static str)] =
                &[$(($name::$variant, $key, $what),)*];
        }

        impl $name {
            pub const ALL: &'static [(Self, &'static str, &'static str)] =
                <Self as Actions>::ALL;

            pub fn name(self) -> &'static str {
                Actions::name(self)
            }

            pub fn from_name(name: &str) -> Option<Self> {
                <Self as Actions>::from_name(name)
            }

            pub fn describe(self) -> &'static str {
                Actions::describe(self)
            }
        }
    };
}

actions! {
    /// The explorer: panes, layers, the tree and its filters.
    Action in "explorer" {
        Quit = "quit": "quit",
        Help = "help": "show or hide this help",
        NextPane = "next-pane": "next pane",
        PrevPane = "prev-pane": "previous pane",
        Up = "up": "move up",
        Down = "down": "move down",
        PageUp = "page-up": "page up",
        PageDown = "page-down": "page down",
        Top = "top": "first row",
        Bottom = "bottom": "last row",
        Collapse = "collapse": "collapse the directory (or go to its parent)",
        Expand = "expand": "expand the directory",
        Toggle = "toggle": "expand or collapse; on a finding, show its first path",
        ExpandAll = "expand-all": "expand every directory",
        CollapseAll = "collapse-all": "collapse every directory",
        PrevLayer = "prev-layer": "previous layer",
        NextLayer = "next-layer": "next layer",
        Scope = "scope": "tree: this layer's changes only, or the image up to it",
        FilterAdded = "filter-added": "show only added paths",
        FilterModified = "filter-modified": "show only changed paths",
        FilterRemoved = "filter-removed": "show only removed paths",
        FilterBloat = "filter-bloat": "show only paths with findings",
        FilterWasted = "filter-wasted": "show only paths with wasted bytes",
        ClearFilter = "clear-filter": "clear filters",
        MinSize = "min-size": "cycle the minimum size shown",
        Sort = "sort": "sort by size or by name",
        Search = "search": "fuzzy search every path",
        Trim = "trim": "guided trimming session: accept or skip each finding",
    }
}

actions! {
    /// The screen while the image is read.
    LoadingAction in "loading" {
        Quit = "quit": "stop reading and quit",
    }
}

actions! {
    /// The explorer's path search; other keys type into the query.
    SearchAction in "search" {
        Open = "open": "show the chosen path in the tree",
        Close = "close": "close the search",
        Up = "up": "previous match",
        Down = "down": "next match",
        DeleteChar = "delete-char": "delete the last character",
        DeleteWord = "delete-word": "delete the last word",
        Clear = "clear": "clear the query",
        Quit = "quit": "quit",
    }
}

actions! {
    /// The trimming session, one finding at a time.
    TrimAction in "trim" {
        Accept = "accept": "accept the finding",
        Skip = "skip": "skip the finding",
        Undo = "undo": "undo the last decision",
        Finish = "finish": "finish: show the summary and write",
        Cancel = "cancel": "leave the session, writing nothing",
        Quit = "quit": "quit, writing nothing",
    }
}

actions! {
    /// The trimming session's summary; other keys type into the output prefix.
    FinishAction in "trim-finish" {
        Write = "write": "write the outputs (after writing: back to the explorer)",
        Back = "back": "back to the findings (after writing: to the explorer)",
        WriteImage = "write-image": "after writing: write the trimmed image PREFIX.tar",
        DeleteChar = "delete-char": "delete the prefix's last character",
        Quit = "quit": "quit, writing nothing",
    }
}

actions! {
    /// The compare view's table and difference tree.
    CompareAction in "compare" {
        Quit = "quit": "quit",
        Search = "search": "filter the files as you type",
        Up = "up": "move up",
        Down = "down": "move down",
        PageUp = "page-up": "page up",
        PageDown = "page-down": "page down",
        Top = "top": "first row",
        Bottom = "bottom": "last row",
        Close = "close": "close the directory",
        Open = "open": "open the directory",
        Toggle = "toggle": "open or close the directory",
        NextPane = "next-pane": "move between the table of figures and the files",
    }
}

actions! {
    /// The compare view's file filter; other keys type into the query.
    CompareSearchAction in "compare-search" {
        Keep = "keep": "keep the filter and leave the query",
        Clear = "clear": "clear the filter and leave the query",
        Up = "up": "move up",
        Down = "down": "move down",
        DeleteChar = "delete-char": "delete the last character",
        DeleteWord = "delete-word": "delete the last word",
        ClearQuery = "clear-query": "clear the query",
        Quit = "quit": "quit",
    }
}
