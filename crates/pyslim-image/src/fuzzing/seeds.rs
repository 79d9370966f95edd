//! Seed inputs for each fuzz target, written with pyslim's own writer so they are the shapes
//! real images have: `docker save` in both layouts, OCI layouts with every compression, layer
//! stacks with whiteouts, opaque dirs, hardlinks and symlinks, and Dockerfiles as people
//! write them. `cargo run --example fuzz_seeds` writes them to `fuzz/corpus/`.

use std::io::{self, Write};

use crate::source::writer::{
    layer_tar, write_archive, ArchiveFormat, EmptyStep, ImageSpec, LayerSpec, SpecEntry,
};
use pyslim_core::image::Compression;

use super::{Target, LAYER_SEPARATOR};

/// `(file name, bytes)` seeds for `target`.
pub fn seeds(target: Target) -> io::Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    match target {
        Target::DockerArchive => {
            for (name, spec) in images() {
                let legacy = write_archive(&spec, ArchiveFormat::DockerLegacy, Vec::new())?;
                out.push((format!("{name}-docker-oci.tar"), {
                    write_archive(&spec, ArchiveFormat::DockerOci, Vec::new())?
                }));
                out.push((format!("{name}-legacy.tar.gz"), gzip(&legacy)?));
                out.push((format!("{name}-legacy.tar"), legacy));
            }
        }
        Target::OciLayout => {
            for (name, spec) in images() {
                let oci = write_archive(&spec, ArchiveFormat::OciLayout, Vec::new())?;
                out.push((
                    format!("{name}-oci.tar.zst"),
                    zstd::encode_all(&oci[..], 3)?,
                ));
                out.push((format!("{name}-oci.tar"), oci));
            }
        }
        Target::LayerTar => {
            for (name, layers) in stacks() {
                let tars = layers
                    .iter()
                    .map(layer_tar)
                    .collect::<io::Result<Vec<_>>>()?;
                out.push((format!("{name}.tars"), tars.join(LAYER_SEPARATOR)));
            }
        }
        Target::CompressedLayer => {
            for (name, layers) in stacks() {
                let mut blobs = Vec::new();
                for (i, layer) in layers.iter().enumerate() {
                    let tar = layer_tar(layer)?;
                    blobs.push(if i % 2 == 0 {
                        gzip(&tar)?
                    } else {
                        zstd::encode_all(&tar[..], 3)?
                    });
                }
                out.push((format!("{name}.blobs"), blobs.join(LAYER_SEPARATOR)));
            }
        }
        Target::Dockerfile => {
            for (name, text) in DOCKERFILES {
                out.push((format!("{name}.Dockerfile"), text.as_bytes().to_vec()));
            }
        }
    }
    Ok(out)
}

fn gzip(data: &[u8]) -> io::Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data)?;
    enc.finish()
}

/// Layer stacks that touch every rule of the merge, with tiny files (a seed's bytes are the
/// fuzzer's work per execution).
fn stacks() -> Vec<(&'static str, Vec<LayerSpec>)> {
    use SpecEntry as E;
    let run = |entries| LayerSpec::new("RUN step", entries);
    vec![
        (
            "whiteouts",
            vec![
                run(vec![
                    E::dir("usr"),
                    E::file("usr/lib/python3.11/os.py", 30),
                    E::file("usr/lib/python3.11/test/t.py", 20),
                    E::file("var/cache/apt/a.deb", 40),
                ]),
                run(vec![
                    E::whiteout("var/cache/apt"),
                    E::opaque("usr/lib/python3.11/test"),
                    E::file("usr/lib/python3.11/test/u.py", 5),
                ]),
                run(vec![E::file("usr/lib/python3.11/os.py", 31)]),
            ],
        ),
        (
            "links",
            vec![
                run(vec![
                    E::file("usr/bin/python3.11", 64),
                    E::symlink("usr/bin/python3", "python3.11"),
                    E::hardlink("usr/bin/python3-hl", "usr/bin/python3.11"),
                ]),
                run(vec![
                    E::whiteout("usr/bin/python3.11"),
                    E::symlink("usr/bin/python3.11", "/opt/py"),
                ]),
            ],
        ),
        (
            "opaque-root",
            vec![
                run(vec![E::file("a/b", 3), E::dir("c")]),
                run(vec![E::opaque(""), E::file("d", 1)]),
            ],
        ),
    ]
}

fn images() -> Vec<(&'static str, ImageSpec)> {
    let mut out = Vec::new();
    for (name, layers) in stacks() {
        out.push((name, ImageSpec::new(&format!("fuzz/{name}:latest"), layers)));
    }
    // Compressed layers, an empty history step, a python site-packages for the rules.
    let mut layers = vec![
        LayerSpec::new(
            "/bin/sh -c #(nop) ADD file:base in / ",
            vec![
                SpecEntry::file("usr/local/bin/python3.11", 64),
                SpecEntry::text(
                    "usr/local/lib/python3.11/site-packages/requests-2.31.0.dist-info/METADATA",
                    "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\n",
                ),
                SpecEntry::text("app/.env", "AWS_SECRET_ACCESS_KEY=abc\n"),
            ],
        ),
        LayerSpec::new(
            "RUN /bin/sh -c pip install -r requirements.txt # buildkit",
            vec![SpecEntry::file("root/.cache/pip/http/x", 50)],
        ),
    ];
    layers[1].compression = Compression::Gzip;
    let mut spec = ImageSpec::new("fuzz/python:3.11", layers);
    spec.empty_steps.push(EmptyStep {
        before_layer: 1,
        created_by: "/bin/sh -c #(nop)  ENV PYTHONDONTWRITEBYTECODE=1".into(),
    });
    spec.user = "app".into();
    out.push(("python", spec));
    out
}

const DOCKERFILES: [(&str, &str); 4] = [
    (
        "python-apt",
        "# syntax=docker/dockerfile:1\n\
         FROM python:3.11-slim\n\
         ENV PYTHONDONTWRITEBYTECODE=1\n\
         RUN apt-get update \\\n    && apt-get install -y build-essential \\\n    # compilers\n    && pip install numpy\n\
         COPY requirements.txt /app/\n\
         RUN pip install -r /app/requirements.txt\n\
         COPY . /app\n\
         CMD [\"python\", \"-m\", \"app\"]\n",
    ),
    (
        "multi-stage",
        "FROM python:3.11 AS build\n\
         WORKDIR /src\n\
         COPY --chown=1000:1000 . .\n\
         RUN --mount=type=cache,target=/root/.cache pip wheel -w /wheels .\n\
         \n\
         FROM python:3.11-slim\n\
         COPY --from=build /wheels /wheels\n\
         RUN pip install /wheels/*.whl && rm -rf /wheels\n\
         USER app\n\
         ENTRYPOINT [\"app\"]\n",
    ),
    (
        "heredoc",
        "FROM debian:bookworm\n\
         RUN <<EOF\nset -e\napt-get update\napt-get install -y python3\nEOF\n\
         RUN <<-\"SCRIPT\" bash\n\techo hi\n\tSCRIPT\n\
         ADD https://example.com/x.tar.gz /opt/\n",
    ),
    (
        "escape-directive",
        "# escape=`\n\
         FROM mcr.microsoft.com/windows/servercore\n\
         RUN pip install `\n    flask `\n    gunicorn\n\
         COPY [\"a b\", \"/c\"]\n",
    ),
];
