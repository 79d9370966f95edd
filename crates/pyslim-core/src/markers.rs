//! PEP 508 environment markers, enough to tell whether a `Requires-Dist` applies inside a
//! Linux container: `python_version`, `python_full_version`, `sys_platform`,
//! `platform_system`, `os_name`, `platform_machine`, `implementation_name`,
//! `platform_python_implementation` and `extra`, joined by `and` / `or`, with parentheses.
//! A marker pyslim cannot read counts as true: keeping a requirement is the safe mistake.

/// The environment of the image's interpreter.
pub struct MarkerEnv<'a> {
    /// `3.11`.
    pub python_version: &'a str,
    /// `x86_64`, `aarch64`.
    pub machine: &'a str,
}

/// Whether the marker (the text after `;` in a requirement) holds in `env`.
pub fn applies(marker: &str, env: &MarkerEnv) -> bool {
    let tokens = tokenize(marker);
    let mut p = Parser {
        tokens: &tokens,
        pos: 0,
        env,
    };
    match p.or_expr() {
        Some(v) if p.pos == tokens.len() => v,
        _ => true,
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Op(String),
    Open,
    Close,
}

fn tokenize(s: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            out.push(Tok::Open);
            i += 1;
        } else if c == ')' {
            out.push(Tok::Close);
            i += 1;
        } else if c == '"' || c == '\'' {
            let end = chars[i + 1..]
                .iter()
                .position(|&d| d == c)
                .map(|p| i + 1 + p)
                .unwrap_or(chars.len());
            out.push(Tok::Str(
                chars[i + 1..end.min(chars.len())].iter().collect(),
            ));
            i = end + 1;
        } else if "<>=!~".contains(c) {
            let mut op = String::new();
            while i < chars.len() && "<>=!~".contains(chars[i]) {
                op.push(chars[i]);
                i += 1;
            }
            out.push(Tok::Op(op));
        } else {
            let mut w = String::new();
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
            {
                w.push(chars[i]);
                i += 1;
            }
            if w.is_empty() {
                i += 1;
            } else {
                out.push(Tok::Word(w));
            }
        }
    }
    out
}

struct Parser<'t, 'e> {
    tokens: &'t [Tok],
    pos: usize,
    env: &'e MarkerEnv<'e>,
}

impl Parser<'_, '_> {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos)
    }

    fn or_expr(&mut self) -> Option<bool> {
        let mut v = self.and_expr()?;
        while self.peek() == Some(&Tok::Word("or".into())) {
            self.pos += 1;
            let r = self.and_expr()?;
            v = v || r;
        }
        Some(v)
    }

    fn and_expr(&mut self) -> Option<bool> {
        let mut v = self.atom()?;
        while self.peek() == Some(&Tok::Word("and".into())) {
            self.pos += 1;
            let r = self.atom()?;
            v = v && r;
        }
        Some(v)
    }

    fn atom(&mut self) -> Option<bool> {
        if self.peek() == Some(&Tok::Open) {
            self.pos += 1;
            let v = self.or_expr()?;
            if self.peek() != Some(&Tok::Close) {
                return None;
            }
            self.pos += 1;
            return Some(v);
        }
        let left = self.value()?;
        let op = match self.tokens.get(self.pos)? {
            Tok::Op(o) => o.clone(),
            Tok::Word(w) if w == "in" => "in".into(),
            Tok::Word(w) if w == "not" => {
                self.pos += 1;
                match self.tokens.get(self.pos)? {
                    Tok::Word(w) if w == "in" => "not in".into(),
                    _ => return None,
                }
            }
            _ => return None,
        };
        self.pos += 1;
        let right = self.value()?;
        compare(&left, &op, &right)
    }

    /// A variable's value in the environment, or a string literal.
    fn value(&mut self) -> Option<Value> {
        let t = self.tokens.get(self.pos)?.clone();
        self.pos += 1;
        match t {
            Tok::Str(s) => Some(Value::Text(s)),
            Tok::Word(w) => {
                let env = self.env;
                Some(match w.as_str() {
                    "python_version" | "python_full_version" => {
                        Value::Version(env.python_version.to_owned())
                    }
                    "sys_platform" => Value::Text("linux".into()),
                    "platform_system" => Value::Text("Linux".into()),
                    "os_name" => Value::Text("posix".into()),
                    "platform_machine" => Value::Text(env.machine.to_owned()),
                    "implementation_name" => Value::Text("cpython".into()),
                    "platform_python_implementation" => Value::Text("CPython".into()),
                    // No extra is ever requested by an installed environment's own deps.
                    "extra" => Value::NoExtra,
                    _ => return None,
                })
            }
            _ => None,
        }
    }
}

enum Value {
    Text(String),
    Version(String),
    NoExtra,
}

fn compare(left: &Value, op: &str, right: &Value) -> Option<bool> {
    match (left, right) {
        (Value::NoExtra, _) | (_, Value::NoExtra) => Some(op == "!=" || op == "not in"),
        (Value::Version(v), Value::Text(t)) => version_cmp(v, op, t),
        (Value::Text(t), Value::Version(v)) => version_cmp(v, flip(op)?, t),
        (Value::Text(a), Value::Text(b)) => match op {
            "==" => Some(a == b),
            "!=" => Some(a != b),
            "in" => Some(b.contains(a.as_str())),
            "not in" => Some(!b.contains(a.as_str())),
            _ => None,
        },
        _ => None,
    }
}

fn flip(op: &str) -> Option<&'static str> {
    Some(match op {
        "<" => ">",
        ">" => "<",
        "<=" => ">=",
        ">=" => "<=",
        "==" => "==",
        "!=" => "!=",
        _ => return None,
    })
}

fn parts(v: &str) -> Vec<u64> {
    v.split('.')
        .map(|p| {
            p.trim_matches(|c: char| !c.is_ascii_digit())
                .parse()
                .unwrap_or(0)
        })
        .collect()
}

fn version_cmp(have: &str, op: &str, want: &str) -> Option<bool> {
    if op == "in" || op == "not in" {
        let found = want.split_whitespace().any(|w| w == have);
        return Some(found == (op == "in"));
    }
    let (mut a, mut b) = (parts(have), parts(want));
    // Compare on the precision the marker gives: python_version "3.11" vs "3.8".
    let n = a.len().max(b.len());
    a.resize(n, 0);
    b.resize(n, 0);
    let ord = a.cmp(&b);
    use std::cmp::Ordering::*;
    Some(match op {
        "<" => ord == Less,
        "<=" => ord != Greater,
        ">" => ord == Greater,
        ">=" => ord != Less,
        "==" | "===" => ord == Equal,
        "!=" => ord != Equal,
        "~=" => ord != Less,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENV: MarkerEnv = MarkerEnv {
        python_version: "3.11",
        machine: "x86_64",
    };

    #[test]
    fn markers_decide_what_applies_in_a_linux_container() {
        assert!(!applies("python_version < \"3.10\"", &ENV));
        assert!(applies("python_version >= '3.8'", &ENV));
        assert!(!applies("platform_system == \"Windows\"", &ENV));
        assert!(!applies("sys_platform == 'win32' or os_name == 'nt'", &ENV));
        assert!(applies(
            "sys_platform != 'win32' and python_version >= '3.7'",
            &ENV
        ));
        assert!(!applies("extra == 'async'", &ENV));
        assert!(applies(
            "(python_version < '3.9' or platform_machine == 'x86_64') and os_name == 'posix'",
            &ENV
        ));
        assert!(applies("platform_machine in 'x86_64 aarch64'", &ENV));
        // Unreadable markers keep the requirement.
        assert!(applies("something_new ~= 'x'", &ENV));
    }
}
