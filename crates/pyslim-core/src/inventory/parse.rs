//! The text parsers behind the inventory: os-release, dpkg's status, apk's installed
//! database, METADATA / PKG-INFO headers, and the small name and version helpers they use.

use std::collections::BTreeMap;

use super::{OsPackage, OsRelease};
use crate::markers::{applies, MarkerEnv};

pub(super) fn parse_os_release(text: &[u8]) -> OsRelease {
    let mut os = OsRelease::default();
    for line in String::from_utf8_lossy(text).lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim().trim_matches('"').to_owned();
        match k.trim() {
            "ID" => os.id = v,
            "VERSION_ID" => os.version_id = v,
            "PRETTY_NAME" => os.pretty_name = v,
            _ => {}
        }
    }
    os
}

/// Parses dpkg's status file: one paragraph per package; only installed ones count.
pub fn parse_dpkg_status(text: &str) -> Vec<OsPackage> {
    let mut out = Vec::new();
    for para in text.split("\n\n") {
        let mut fields: BTreeMap<&str, &str> = BTreeMap::new();
        for line in para.lines() {
            if line.starts_with(' ') || line.starts_with('\t') {
                continue;
            }
            if let Some((k, v)) = line.split_once(':') {
                fields.insert(k.trim(), v.trim());
            }
        }
        let Some(name) = fields.get("Package") else {
            continue;
        };
        let installed = fields
            .get("Status")
            .is_none_or(|s| s.ends_with(" installed"));
        if !installed {
            continue;
        }
        out.push(OsPackage {
            name: (*name).to_owned(),
            version: fields.get("Version").copied().unwrap_or("").to_owned(),
            installed_bytes: fields
                .get("Installed-Size")
                .and_then(|s| s.parse::<u64>().ok())
                .map(|kib| kib * 1024)
                .unwrap_or(0),
            depends: ["Pre-Depends", "Depends"]
                .iter()
                .filter_map(|k| fields.get(k))
                .flat_map(|v| v.split(','))
                .filter_map(|alt| dependency_name(alt.split('|').next().unwrap_or("")))
                .collect(),
            essential: fields.get("Essential") == Some(&"yes")
                || fields.get("Priority") == Some(&"required"),
            ..Default::default()
        });
    }
    out
}

/// `libpq5 (>= 15)` → `libpq5`; `python3:any` → `python3`; apk's `so:libc.musl…` and
/// `cmd:…` virtual names are not packages.
fn dependency_name(dep: &str) -> Option<String> {
    let name = dep
        .trim()
        .split(|c: char| c.is_whitespace() || c == '(' || c == '<' || c == '>' || c == '=')
        .next()?;
    let name = name.split(':').next()?;
    let virtual_apk = dep.trim().starts_with("so:") || dep.trim().starts_with("cmd:");
    (!name.is_empty() && !virtual_apk && !dep.trim().starts_with('!')).then(|| name.to_owned())
}

/// Parses apk's installed database: `P:` name, `V:` version, `I:` size, `F:` dir, `R:` file.
pub fn parse_apk_installed(text: &str) -> (Vec<OsPackage>, Vec<(usize, String)>) {
    let mut pkgs = Vec::new();
    let mut files = Vec::new();
    for para in text.split("\n\n") {
        let mut pkg = OsPackage::default();
        let mut dir = String::new();
        let mut mine = Vec::new();
        for line in para.lines() {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            match k {
                "P" => pkg.name = v.to_owned(),
                "V" => pkg.version = v.to_owned(),
                "I" => pkg.installed_bytes = v.parse().unwrap_or(0),
                "D" => pkg
                    .depends
                    .extend(v.split_whitespace().filter_map(dependency_name)),
                "F" => dir = v.to_owned(),
                "R" => mine.push(if dir.is_empty() {
                    v.to_owned()
                } else {
                    format!("{dir}/{v}")
                }),
                _ => {}
            }
        }
        if !pkg.name.is_empty() {
            let i = pkgs.len();
            files.extend(mine.into_iter().map(|f| (i, f)));
            pkgs.push(pkg);
        }
    }
    (pkgs, files)
}

/// Reads the `Key: value` header of METADATA / PKG-INFO (it ends at the first blank line).
pub(super) fn parse_metadata(text: &str, env: &MarkerEnv) -> (String, String, Vec<String>) {
    let (mut name, mut version, mut requires) = (String::new(), String::new(), Vec::new());
    for line in text.lines() {
        if line.is_empty() {
            break;
        }
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        match k {
            "Name" => name = v.to_owned(),
            "Version" => version = v.to_owned(),
            "Requires-Dist" => {
                // `pkg (>=1) ; python_version < "3.10"`: only requirements that apply here.
                if let Some((_, marker)) = v.split_once(';') {
                    if !applies(marker, env) {
                        continue;
                    }
                }
                let end = v
                    .find(|c: char| {
                        !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
                    })
                    .unwrap_or(v.len());
                if end > 0 {
                    requires.push(normalize_dist_name(&v[..end]));
                }
            }
            _ => {}
        }
    }
    (name, version, requires)
}

/// `3.11` from `…/lib/python3.11/site-packages`; Debian's `dist-packages` under
/// `lib/python3/` says nothing more than 3.
pub(super) fn python_version_of(location: &str) -> Option<&str> {
    location
        .split('/')
        .find_map(|part| part.strip_prefix("python").filter(|v| v.starts_with('3')))
}

/// The `platform_machine` of an OCI architecture.
pub(super) fn machine(arch: &str) -> &'static str {
    match arch {
        "arm64" => "aarch64",
        "arm" => "armv7l",
        "386" => "i686",
        "ppc64le" => "ppc64le",
        "s390x" => "s390x",
        _ => "x86_64",
    }
}

/// PEP 503 normalisation: lower-case, runs of `-_.` become `-`.
pub fn normalize_dist_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut dash = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            dash = true;
        } else {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpkg_status_keeps_installed_packages_only() {
        let text = "Package: gcc-12\nStatus: install ok installed\nInstalled-Size: 70000\nVersion: 12.2.0-14\nDescription: GNU C\n multi-line\n\nPackage: old\nStatus: deinstall ok config-files\nVersion: 1\n";
        let pkgs = parse_dpkg_status(text);
        assert_eq!(pkgs.len(), 1);
        assert_eq!(
            (pkgs[0].name.as_str(), pkgs[0].installed_bytes),
            ("gcc-12", 70000 * 1024)
        );
    }

    #[test]
    fn dependencies_are_names_without_versions_or_alternatives() {
        let text = "Package: libpq-dev\nStatus: install ok installed\nPre-Depends: dpkg (>= 1.17)\nDepends: libpq5 (= 15.8-0+deb12u1), libssl-dev, python3:any | python3-minimal\n";
        let pkgs = parse_dpkg_status(text);
        assert_eq!(
            pkgs[0].depends,
            vec!["dpkg", "libpq5", "libssl-dev", "python3"]
        );
        let (apk, _) = parse_apk_installed(
            "P:py3-pip\nD:python3 py3-setuptools>=60 so:libc.musl-x86_64.so.1 !py3-old\n",
        );
        assert_eq!(apk[0].depends, vec!["python3", "py3-setuptools"]);
    }

    #[test]
    fn apk_database_lists_files_per_package() {
        let text = "P:musl\nV:1.2.4-r2\nI:622592\nF:lib\nR:ld-musl-x86_64.so.1\nR:libc.musl-x86_64.so.1\n\nP:busybox\nV:1.36\nF:bin\nR:busybox\n";
        let (pkgs, files) = parse_apk_installed(text);
        assert_eq!(pkgs.len(), 2);
        assert!(files.contains(&(0, "lib/ld-musl-x86_64.so.1".into())));
        assert!(files.contains(&(1, "bin/busybox".into())));
    }

    #[test]
    fn metadata_reads_name_version_and_hard_requirements() {
        let text = "Metadata-Version: 2.1\nName: Flask\nVersion: 3.0.3\nRequires-Dist: Werkzeug>=3.0.0\nRequires-Dist: click (>=8.1.3)\nRequires-Dist: asgiref>=3.2 ; extra == \"async\"\n\nbody: not a header";
        let env = MarkerEnv {
            python_version: "3.11",
            machine: "x86_64",
        };
        let (name, version, req) = parse_metadata(text, &env);
        assert_eq!((name.as_str(), version.as_str()), ("Flask", "3.0.3"));
        assert_eq!(req, vec!["werkzeug", "click"]);
        assert_eq!(
            normalize_dist_name("Typing_Extensions"),
            "typing-extensions"
        );
    }
}
