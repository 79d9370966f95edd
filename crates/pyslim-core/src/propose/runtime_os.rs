//! What the runtime stage gets of the OS packages the build installed: the libraries the app
//! runs with (and what they depend on), never the Python the runtime base has itself; on
//! distroless, which cannot install packages, their shared libraries copied from the builder.

use serde::Serialize;

use super::bases::Target;
use super::interpreter::VenvInterpreter;
use super::libraries::{library_copies, LibraryCopy};
use super::packages::{
    base_provided_packages, os_package_layer, runtime_closure, runtime_packages,
};
use super::plan::PlanInput;

/// The runtime stage's OS packages.
#[derive(Debug, Clone, Serialize)]
pub struct RuntimeOs {
    #[serde(rename = "runtime_packages")]
    pub packages: Vec<String>,
    #[serde(rename = "runtime_packages_why")]
    pub why: String,
    /// The runtime packages with the dependencies the build installed alongside them (what
    /// the runtime's package manager will add, or what is copied to distroless).
    #[serde(rename = "runtime_closure")]
    pub closure: Vec<String>,
    /// Packages the build installed that the runtime base provides itself (its Python).
    pub base_provided: Vec<String>,
    /// Distroless: the runtime packages' shared libraries, copied from the builder.
    #[serde(rename = "runtime_libraries")]
    pub libraries: Vec<LibraryCopy>,
}

/// Decides the runtime's OS packages from those the builder's steps install (`installed`).
/// Fails, in one line, when distroless needs a package whose libraries cannot be copied.
pub(crate) fn runtime_os(
    input: &PlanInput,
    installed: &[String],
    build_only: &globset::GlobSet,
    interpreter: &VenvInterpreter,
    warnings: &mut Vec<String>,
) -> crate::Result<RuntimeOs> {
    let ex = input.ex;
    let inv = &ex.inventory;
    let in_base = |name: &str| {
        os_package_layer(&ex.tree, name).is_some_and(|l| l < input.steps.first_user_layer)
    };
    let provided = base_provided_packages(input.bases);
    let base_provided: Vec<String> = installed
        .iter()
        .filter(|p| provided.is_match(p.as_str()) && !build_only.is_match(p.as_str()))
        .cloned()
        .collect();
    if !base_provided.is_empty() {
        warnings.push(format!(
            "not installed in the runtime: {} (the runtime base has its own Python, {}; Debian's would be a second interpreter the venv does not use)",
            base_provided.join(", "),
            interpreter.path
        ));
    }
    let packages: Vec<String> = runtime_packages(
        installed,
        build_only,
        inv,
        input.bases,
        input.target,
        &in_base,
    )
    .into_iter()
    .filter(|p| !provided.is_match(p.as_str()))
    .collect();
    let closure = runtime_closure(&packages, inv, build_only, &provided, &in_base);
    let libraries = if input.target == Target::Distroless && !closure.is_empty() {
        library_copies(&packages, &closure, inv, &ex.tree).map_err(crate::Error::Usage)?
    } else {
        Vec::new()
    };
    let why = match (packages.is_empty(), input.target) {
        (true, _) => String::new(),
        (false, Target::Distroless) => format!(
            "distroless cannot install packages: the shared libraries of {} (and what they depend on), copied from the builder, which installed them",
            packages.join(", ")
        ),
        _ => "the runtime needs only these of the OS packages the build installed (libraries the -dev packages stood for included)".into(),
    };
    Ok(RuntimeOs {
        packages,
        why,
        closure,
        base_provided,
        libraries,
    })
}
