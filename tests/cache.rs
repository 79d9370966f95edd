//! The layer cache on disk, through the binary as users run it: a warm read gives the cold
//! read's JSON byte for byte (every source, every JSON command), a damaged or foreign entry
//! is read again, two pyslims at once corrupt nothing, the bound holds, the files are
//! private, a failed read caches nothing, secrets' bytes never reach the disk, and the
//! daemon is not asked for an export when every layer is cached.
//!
//! Every test runs pyslim with its own PYSLIM_CACHE_DIR in a temp dir (the suite's default,
//! from .cargo/config.toml, is no cache at all) and reads what the cache did from the trace
//! PYSLIM_CACHE_TRACE writes: events, not timings. Self-contained (no tests/common), so it
//! can become a module of a merged test binary.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pyslim::core::image::Compression;
use pyslim::source::writer::{
    write_archive, write_oci_dir, ArchiveFormat, Content, ImageSpec, LayerSpec, SpecEntry, SpecKind,
};

const SECRET: &str = "hunter2-cache-must-not-keep-this";

fn pyslim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pyslim"))
}

/// A cache directory and a trace file in a temp dir, and the runs made with them.
struct Cache {
    dir: tempfile::TempDir,
}

impl Cache {
    fn new() -> Self {
        Cache {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn root(&self) -> PathBuf {
        self.dir.path().join("cache")
    }
    fn trace_path(&self) -> PathBuf {
        self.dir.path().join("trace")
    }
    /// pyslim with this cache, in `cwd` (where `.pyslim.toml` is looked for).
    fn cmd(&self, cwd: &Path) -> Command {
        let mut c = pyslim();
        c.current_dir(cwd)
            .env_remove("PYSLIM_NO_CACHE")
            .env("PYSLIM_CACHE_DIR", self.root())
            .env("PYSLIM_CACHE_TRACE", self.trace_path());
        c
    }
    fn run(&self, cwd: &Path, args: &[&str]) -> Output {
        self.cmd(cwd).args(args).output().unwrap()
    }
    /// The trace since the last call (and clears it).
    fn take_trace(&self) -> Vec<String> {
        let text = std::fs::read_to_string(self.trace_path()).unwrap_or_default();
        let _ = std::fs::remove_file(self.trace_path());
        text.lines().map(str::to_owned).collect()
    }
    fn layer_files(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.root().join("layers"))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        v.sort();
        v
    }
}

fn uncached(cwd: &Path, args: &[&str]) -> Output {
    pyslim()
        .current_dir(cwd)
        .env("PYSLIM_NO_CACHE", "1")
        .env_remove("PYSLIM_CACHE_TRACE")
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn count(trace: &[String], prefix: &str) -> usize {
    trace.iter().filter(|l| l.starts_with(prefix)).count()
}

/// A real ELF to probe: the first of a few binaries every Linux has.
fn real_elf() -> Vec<u8> {
    ["/usr/bin/env", "/bin/true", "/usr/bin/true"]
        .iter()
        .find_map(|p| std::fs::read(p).ok())
        .expect("a system binary to use as ELF content")
}

/// A Python app image shaped like the real ones: packages (dpkg, dist-info), ELF files, a
/// credential, whiteouts and an opaque dir, an empty layer.
fn spec(tag: &str, app_text: &str) -> ImageSpec {
    let elf = real_elf();
    let base = LayerSpec::new(
        "/bin/sh -c #(nop) ADD file:base in / ",
        vec![
            SpecEntry::dir("usr/bin"),
            SpecEntry::new("usr/bin/python3.11", SpecKind::File(Content::Bytes(elf.clone())))
                .with_mode(0o755),
            SpecEntry::symlink("usr/bin/python3", "python3.11"),
            SpecEntry::text(
                "var/lib/dpkg/status",
                "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\nInstalled-Size: 12000\n\nPackage: gcc-12\nStatus: install ok installed\nVersion: 12.2.0-14\nInstalled-Size: 60000\n\n",
            ),
            SpecEntry::text("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n"),
            SpecEntry::file("usr/lib/python3.11/test/test_os.py", 9_000),
            SpecEntry::file("var/cache/apt/archives/gcc.deb", 50_000),
        ],
    );
    let deps = LayerSpec::new(
        "/bin/sh -c pip install numpy",
        vec![
            SpecEntry::text(
                "usr/local/lib/python3.11/site-packages/numpy-1.26.0.dist-info/METADATA",
                "Metadata-Version: 2.1\nName: numpy\nVersion: 1.26.0\n",
            ),
            SpecEntry::text(
                "usr/local/lib/python3.11/site-packages/numpy-1.26.0.dist-info/RECORD",
                "numpy/__init__.py,,\nnumpy/core/_multiarray.so,,\n",
            ),
            SpecEntry::new(
                "usr/local/lib/python3.11/site-packages/numpy/core/_multiarray.so",
                SpecKind::File(Content::Bytes(elf)),
            ),
            SpecEntry::file("root/.cache/pip/http/abc.body", 40_000),
            SpecEntry::text(
                "root/.pypirc",
                &format!("[pypi]\nusername = me\npassword = {SECRET}\n"),
            ),
        ],
    );
    let empty = LayerSpec::new("WORKDIR /app", vec![]);
    let app = LayerSpec::new(
        "COPY . /app",
        vec![
            SpecEntry::text("app/main.py", app_text),
            SpecEntry::whiteout("usr/lib/python3.11/test"),
            SpecEntry::opaque("var/cache/apt/archives"),
        ],
    );
    let mut spec = ImageSpec::new(tag, vec![base, deps, empty, app]);
    spec.cmd = vec!["python3".into(), "/app/main.py".into()];
    spec.env.push("API_TOKEN=not-for-the-cache".into());
    spec
}

fn compressed(mut spec: ImageSpec, pattern: &[Compression]) -> ImageSpec {
    for (i, layer) in spec.layers.iter_mut().enumerate() {
        layer.compression = pattern[i % pattern.len()];
    }
    spec
}

fn write_tar(dir: &Path, name: &str, spec: &ImageSpec, format: ArchiveFormat) -> String {
    let path = dir.join(name);
    let file = std::fs::File::create(&path).unwrap();
    write_archive(spec, format, std::io::BufWriter::new(file)).unwrap();
    path.display().to_string()
}

/// Every source pyslim reads from a file: (name, reference).
fn sources(dir: &Path) -> Vec<(&'static str, String)> {
    let base = spec("cache/app:1", "print('hello')\n");
    let oci_dir = dir.join("oci-mixed");
    write_oci_dir(
        &compressed(
            base.clone(),
            &[Compression::Gzip, Compression::Zstd, Compression::None],
        ),
        &oci_dir,
    )
    .unwrap();
    let legacy = write_tar(dir, "legacy.tar", &base, ArchiveFormat::DockerLegacy);
    let gzipped = dir.join("legacy.tar.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&gzipped).unwrap(),
        flate2::Compression::fast(),
    );
    std::io::copy(&mut std::fs::File::open(&legacy).unwrap(), &mut gz).unwrap();
    gz.finish().unwrap();
    vec![
        ("docker-archive (legacy)", legacy),
        (
            "docker save | gzip (a stream)",
            gzipped.display().to_string(),
        ),
        (
            "docker-archive (OCI-style)",
            write_tar(dir, "docker-oci.tar", &base, ArchiveFormat::DockerOci),
        ),
        (
            "OCI layout dir (gzip, zstd, none)",
            oci_dir.display().to_string(),
        ),
        (
            "OCI layout tar (gzip)",
            write_tar(
                dir,
                "oci-gzip.tar",
                &compressed(base.clone(), &[Compression::Gzip]),
                ArchiveFormat::OciLayout,
            ),
        ),
        (
            "OCI layout tar (zstd)",
            write_tar(
                dir,
                "oci-zstd.tar",
                &compressed(base, &[Compression::Zstd]),
                ArchiveFormat::OciLayout,
            ),
        ),
    ]
}

/// Runs `args` uncached, then twice with `cache`: all three print the same bytes, the first
/// cached run stores and the second only hits.
fn assert_warm_equals_cold(cache: &Cache, cwd: &Path, what: &str, args: &[&str]) {
    let cold = uncached(cwd, args);
    assert!(
        cold.status.code().is_some_and(|c| c < 2),
        "{what}: {args:?}: {}",
        String::from_utf8_lossy(&cold.stderr)
    );
    let first = cache.run(cwd, args);
    let first_trace = cache.take_trace();
    let warm = cache.run(cwd, args);
    let warm_trace = cache.take_trace();
    assert_eq!(
        stdout(&cold),
        stdout(&first),
        "{what}: {args:?}: first cached run"
    );
    assert_eq!(stdout(&cold), stdout(&warm), "{what}: {args:?}: warm run");
    assert_eq!(cold.status.code(), warm.status.code(), "{what}: {args:?}");
    assert_eq!(count(&warm_trace, "store"), 0, "{what}: {warm_trace:?}");
    assert!(count(&warm_trace, "hit") > 0, "{what}: {warm_trace:?}");
    let _ = first_trace;
}

#[test]
fn a_warm_read_prints_the_cold_json_for_every_source_and_command() {
    let dir = tempfile::tempdir().unwrap();
    let sources = sources(dir.path());
    for (what, reference) in &sources {
        let cache = Cache::new();
        for command in [
            vec!["analyze", "--json"],
            vec!["check", "--json"],
            // --force: each run writes Dockerfile.pyslim again.
            vec!["propose", "--json", "--force"],
        ] {
            let mut args = command.clone();
            args.push(reference);
            assert_warm_equals_cold(&cache, dir.path(), what, &args);
        }
        // The first command stored each layer; the next ones only hit.
        assert!(!cache.layer_files().is_empty(), "{what}");
    }
    // compare: one run reads two images (a layer they share counts as read once either way).
    let cache = Cache::new();
    let args = ["compare", "--json", &sources[0].1, &sources[2].1];
    assert_warm_equals_cold(&cache, dir.path(), "compare", &args);
}

#[test]
fn a_warm_read_gives_the_same_findings_as_a_cold_one() {
    // The equality above would hold for an empty output too: this one has findings, a
    // secret among them, an inventory and ELF facts.
    let dir = tempfile::tempdir().unwrap();
    let tar = write_tar(
        dir.path(),
        "a.tar",
        &spec("cache/app:1", "x\n"),
        ArchiveFormat::DockerLegacy,
    );
    let cache = Cache::new();
    cache.run(dir.path(), &["analyze", "--json", &tar]);
    let warm = stdout(&cache.run(dir.path(), &["analyze", "--json", &tar]));
    let doc: serde_json::Value = serde_json::from_str(&warm).unwrap();
    let text = doc.to_string();
    assert!(text.contains("PyPI credentials"), "{text}");
    assert!(text.contains("numpy"), "{text}");
    assert!(text.contains("gcc-12"), "{text}");
    assert_eq!(count(&cache.take_trace(), "hit"), 4);
}

#[test]
fn the_cache_keeps_no_secret_bytes_and_no_environment() {
    let dir = tempfile::tempdir().unwrap();
    let tar = write_tar(
        dir.path(),
        "a.tar",
        &spec("cache/app:1", "x\n"),
        ArchiveFormat::DockerLegacy,
    );
    let cache = Cache::new();
    assert!(cache
        .run(dir.path(), &["analyze", "--json", &tar])
        .status
        .success());
    let files = cache.layer_files();
    assert_eq!(files.len(), 4);
    let mut seen_metadata = false;
    for f in &files {
        let plain = decompressed_body(f);
        let text = String::from_utf8_lossy(&plain);
        assert!(!text.contains(SECRET), "{} holds the secret", f.display());
        assert!(!text.contains("not-for-the-cache"));
        seen_metadata |= text.contains("Name: numpy");
    }
    // Proof that the bodies were read: package metadata is kept.
    assert!(seen_metadata);
}

/// A cache file's body, decompressed (the header is followed by one zstd frame).
fn decompressed_body(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap();
    let at = bytes
        .windows(4)
        .position(|w| w == [0x28, 0xb5, 0x2f, 0xfd])
        .expect("a zstd frame");
    zstd::stream::decode_all(&bytes[at..]).unwrap()
}

#[test]
fn a_damaged_entry_is_read_again_and_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let tar = write_tar(
        dir.path(),
        "a.tar",
        &spec("cache/app:1", "x\n"),
        ArchiveFormat::DockerLegacy,
    );
    let args = ["analyze", "--json", tar.as_str()];
    let cold = stdout(&uncached(dir.path(), &args));
    let cache = Cache::new();
    cache.run(dir.path(), &args);
    cache.take_trace();
    // Flip one byte in the body of every layer file, and cut one short.
    let files = cache.layer_files();
    for f in &files {
        let mut bytes = std::fs::read(f).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x55;
        std::fs::write(f, &bytes).unwrap();
    }
    let short = std::fs::read(&files[0]).unwrap();
    std::fs::write(&files[0], &short[..short.len() / 2]).unwrap();
    let again = cache.run(dir.path(), &args);
    assert_eq!(stdout(&again), cold);
    let trace = cache.take_trace();
    assert_eq!(count(&trace, "damaged"), 4, "{trace:?}");
    assert_eq!(count(&trace, "hit"), 0, "{trace:?}");
    assert_eq!(count(&trace, "store"), 4, "{trace:?}");
    // Replaced: the next run trusts them again.
    assert_eq!(stdout(&cache.run(dir.path(), &args)), cold);
    let trace = cache.take_trace();
    assert_eq!(count(&trace, "hit"), 4, "{trace:?}");
}

#[test]
fn an_entry_another_version_wrote_is_ignored_and_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let tar = write_tar(
        dir.path(),
        "a.tar",
        &spec("cache/app:1", "x\n"),
        ArchiveFormat::DockerLegacy,
    );
    let args = ["analyze", "--json", tar.as_str()];
    let cache = Cache::new();
    let cold = stdout(&cache.run(dir.path(), &args));
    cache.take_trace();
    for f in cache.layer_files() {
        let bytes = std::fs::read(&f).unwrap();
        // The writer's name in the header, as another version writes it (same length).
        let text = String::from_utf8_lossy(&bytes[..64]).into_owned();
        let at = text.find("format 1").expect("the header names its format");
        let mut changed = bytes.clone();
        changed[at + 7] = b'9';
        std::fs::write(&f, changed).unwrap();
    }
    assert_eq!(stdout(&cache.run(dir.path(), &args)), cold);
    let trace = cache.take_trace();
    assert_eq!(count(&trace, "other-version"), 4, "{trace:?}");
    assert_eq!(count(&trace, "store"), 4, "{trace:?}");
    assert_eq!(count(&trace, "damaged"), 0, "{trace:?}");
    cache.run(dir.path(), &args);
    assert_eq!(count(&cache.take_trace(), "hit"), 4);
}

#[test]
fn two_pyslims_at_once_leave_a_sound_cache() {
    let dir = tempfile::tempdir().unwrap();
    let refs: Vec<String> = (0..2)
        .map(|i| {
            write_tar(
                dir.path(),
                &format!("{i}.tar"),
                &compressed(
                    spec("cache/app:1", &format!("v{i}\n")),
                    &[Compression::Gzip],
                ),
                ArchiveFormat::OciLayout,
            )
        })
        .collect();
    let cache = Cache::new();
    for round in 0..3 {
        // Four at once, over two images that share three layers.
        let children: Vec<_> = (0..4)
            .map(|i| {
                cache
                    .cmd(dir.path())
                    .args(["analyze", "--json", &refs[i % 2]])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for (i, child) in children.into_iter().enumerate() {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let cold = stdout(&uncached(dir.path(), &["analyze", "--json", &refs[i % 2]]));
            assert_eq!(stdout(&out), cold, "round {round}, run {i}");
        }
    }
    let trace = cache.take_trace();
    assert_eq!(count(&trace, "damaged"), 0, "{trace:?}");
    // Five distinct layers, no temporary file left behind.
    assert_eq!(cache.layer_files().len(), 5, "{:?}", cache.layer_files());
}

#[test]
fn the_cache_stays_within_its_bound_and_prunes_and_clears() {
    let dir = tempfile::tempdir().unwrap();
    let tar = write_tar(
        dir.path(),
        "a.tar",
        &spec("cache/app:1", "x\n"),
        ArchiveFormat::DockerLegacy,
    );
    let args = ["analyze", "--json", tar.as_str()];
    let cache = Cache::new();
    // A tiny bound: not every layer fits, the least recently used go.
    std::fs::write(dir.path().join(".pyslim.toml"), "[cache]\nmax-size = 400\n").unwrap();
    let cold = stdout(&uncached(dir.path(), &args));
    assert_eq!(stdout(&cache.run(dir.path(), &args)), cold);
    let trace = cache.take_trace();
    assert!(count(&trace, "evict") > 0, "{trace:?}");
    let shown = cache.run(dir.path(), &["cache", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert!(doc["bytes"].as_u64().unwrap() <= 400, "{doc}");
    assert!(doc["layers"].as_u64().unwrap() < 4, "{doc}");
    assert_eq!(doc["max_bytes"], 400);
    // Still right, with what is left.
    assert_eq!(stdout(&cache.run(dir.path(), &args)), cold);

    // A roomy bound: all kept; prune to a smaller one removes the oldest; clear removes all.
    std::fs::write(
        dir.path().join(".pyslim.toml"),
        "[cache]\nmax-size = \"10MB\"\n",
    )
    .unwrap();
    cache.run(dir.path(), &args);
    let doc: serde_json::Value =
        serde_json::from_slice(&cache.run(dir.path(), &["cache", "--json"]).stdout).unwrap();
    assert_eq!(doc["layers"], 4, "{doc}");
    let total = doc["bytes"].as_u64().unwrap();
    std::fs::write(
        dir.path().join(".pyslim.toml"),
        format!("[cache]\nmax-size = {}\n", total - 1),
    )
    .unwrap();
    let pruned: serde_json::Value =
        serde_json::from_slice(&cache.run(dir.path(), &["cache", "prune", "--json"]).stdout)
            .unwrap();
    assert!(pruned["removed"].as_u64().unwrap() >= 1, "{pruned}");
    assert!(pruned["bytes"].as_u64().unwrap() < total);
    let cleared = cache.run(dir.path(), &["cache", "clear"]);
    assert!(cleared.status.success());
    assert!(stdout(&cleared).contains("removed"), "{}", stdout(&cleared));
    assert!(cache.layer_files().is_empty());
    // A bad bound is one line naming the file.
    std::fs::write(
        dir.path().join(".pyslim.toml"),
        "[cache]\nmax-size = \"lots\"\n",
    )
    .unwrap();
    let bad = cache.run(dir.path(), &args);
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains(".pyslim.toml") && err.contains("max-size"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn the_cache_is_private_to_the_user() {
    let dir = tempfile::tempdir().unwrap();
    let tar = write_tar(
        dir.path(),
        "a.tar",
        &spec("cache/app:1", "x\n"),
        ArchiveFormat::DockerLegacy,
    );
    let cache = Cache::new();
    // Made by hand before, open to all: pyslim closes it.
    std::fs::create_dir_all(cache.root()).unwrap();
    std::fs::set_permissions(cache.root(), std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(cache
        .run(dir.path(), &["analyze", "--json", &tar])
        .status
        .success());
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&cache.root()), 0o700);
    for sub in ["layers", "digests", "images"] {
        assert_eq!(mode(&cache.root().join(sub)), 0o700, "{sub}");
    }
    let files = cache.layer_files();
    assert_eq!(files.len(), 4);
    for f in files {
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
}

#[test]
fn no_cache_reads_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let tar = write_tar(
        dir.path(),
        "a.tar",
        &spec("cache/app:1", "x\n"),
        ArchiveFormat::DockerLegacy,
    );
    let cache = Cache::new();
    let out = cache.run(dir.path(), &["analyze", "--json", "--no-cache", &tar]);
    assert!(out.status.success());
    assert!(!cache.root().exists());
    assert!(cache.take_trace().is_empty());
    let out = cache
        .cmd(dir.path())
        .env("PYSLIM_NO_CACHE", "1")
        .args(["analyze", "--json", &tar])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!cache.root().exists());
    // And with the cache warm, --no-cache still reads the layers.
    cache.run(dir.path(), &["analyze", "--json", &tar]);
    cache.take_trace();
    cache.run(dir.path(), &["analyze", "--json", "--no-cache", &tar]);
    assert!(cache.take_trace().is_empty());
    // --verify hashes this image's own bytes: nothing is taken from the cache.
    let verified = cache.run(dir.path(), &["analyze", "--json", "--verify", &tar]);
    assert!(verified.status.success());
    assert_eq!(count(&cache.take_trace(), "hit"), 0);
}

#[test]
fn a_failed_read_caches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let oci = dir.path().join("oci");
    write_oci_dir(
        &compressed(spec("cache/app:1", "x\n"), &[Compression::Gzip]),
        &oci,
    )
    .unwrap();
    // Damage the last layer's blob (its top bytes): the other layers read fine.
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(oci.join("index.json")).unwrap()).unwrap();
    let manifest_digest = index["manifests"][0]["digest"].as_str().unwrap().to_owned();
    let blob = |d: &str| {
        oci.join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"))
    };
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(blob(&manifest_digest)).unwrap()).unwrap();
    let last = manifest["layers"].as_array().unwrap().last().unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut bytes = std::fs::read(blob(&last)).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(blob(&last), bytes).unwrap();
    let cache = Cache::new();
    let out = cache.run(dir.path(), &["analyze", "--json", oci.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(cache.layer_files().is_empty(), "{:?}", cache.layer_files());
    assert_eq!(count(&cache.take_trace(), "store"), 0);
}

#[test]
fn limits_hold_on_a_warm_read_too() {
    let dir = tempfile::tempdir().unwrap();
    let tar = write_tar(
        dir.path(),
        "a.tar",
        &spec("cache/app:1", "x\n"),
        ArchiveFormat::DockerLegacy,
    );
    let cache = Cache::new();
    let args = ["analyze", "--json", "--max-entries", "3", &tar];
    let cold = uncached(dir.path(), &args);
    assert_eq!(cold.status.code(), Some(2));
    cache.run(dir.path(), &["analyze", "--json", &tar]);
    let warm = cache.run(dir.path(), &args);
    assert_eq!(warm.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&warm.stderr).contains("--max-entries"),
        "{}",
        String::from_utf8_lossy(&warm.stderr)
    );
}

fn docker_or_skip(test: &str) -> bool {
    let ok = Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        assert!(
            std::env::var("PYSLIM_REQUIRE_DOCKER").as_deref() != Ok("1"),
            "{test}: no Docker daemon answers and PYSLIM_REQUIRE_DOCKER=1"
        );
        eprintln!("skipping {test}: no Docker daemon answers");
    }
    ok
}

struct Loaded(String);
impl Drop for Loaded {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rmi", "-f", &self.0]).output();
    }
}

fn load(dir: &Path, spec: &ImageSpec) -> Loaded {
    let tar = write_tar(dir, "load.tar", spec, ArchiveFormat::DockerLegacy);
    let out = Command::new("docker")
        .args(["load", "-i", &tar])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Loaded(spec.tag.clone())
}

#[test]
fn the_daemon_is_not_asked_for_an_export_when_every_layer_is_cached() {
    if !docker_or_skip("daemon cache") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tag = format!("pyslim-test/cache:{}", std::process::id());
    let image = load(dir.path(), &spec(&tag, "print('v1')\n"));
    let cache = Cache::new();
    for command in [vec!["analyze", "--json"], vec!["check", "--json"]] {
        let mut args = command.clone();
        args.push(&image.0);
        let cold = uncached(dir.path(), &args);
        let first = cache.run(dir.path(), &args);
        let first_trace = cache.take_trace();
        let warm = cache.run(dir.path(), &args);
        let warm_trace = cache.take_trace();
        assert_eq!(stdout(&cold), stdout(&first), "{args:?}");
        assert_eq!(stdout(&cold), stdout(&warm), "{args:?}");
        if command[0] == "analyze" {
            assert_eq!(count(&first_trace, "export"), 1, "{first_trace:?}");
            assert_eq!(count(&first_trace, "store"), 4, "{first_trace:?}");
        }
        // The proof: no export was asked for, and every layer came from the cache.
        assert_eq!(count(&warm_trace, "export"), 0, "{warm_trace:?}");
        assert_eq!(count(&warm_trace, "no-export"), 1, "{warm_trace:?}");
        assert_eq!(count(&warm_trace, "hit"), 4, "{warm_trace:?}");
    }
    // --verify reads the export, whatever the cache holds.
    cache.run(dir.path(), &["analyze", "--json", "--verify", &image.0]);
    let trace = cache.take_trace();
    assert_eq!(count(&trace, "export"), 1, "{trace:?}");
    assert_eq!(count(&trace, "hit"), 0, "{trace:?}");
    // The same image as a docker-archive shares nothing with the daemon's stream reads (a
    // stream keeps less of an ELF file), but is right too.
    let tar = write_tar(
        dir.path(),
        "again.tar",
        &spec(&tag, "print('v1')\n"),
        ArchiveFormat::DockerLegacy,
    );
    let args = ["analyze", "--json", tar.as_str()];
    assert_eq!(
        stdout(&cache.run(dir.path(), &args)),
        stdout(&uncached(dir.path(), &args))
    );
    // A rebuilt image (its last layer changed): exported again, only the new layer stored.
    let rebuilt = load(dir.path(), &spec(&tag, "print('v2')\n"));
    let args = ["analyze", "--json", rebuilt.0.as_str()];
    let cold = uncached(dir.path(), &args);
    cache.take_trace();
    let warm = cache.run(dir.path(), &args);
    let trace = cache.take_trace();
    assert_eq!(stdout(&cold), stdout(&warm));
    assert_eq!(count(&trace, "export"), 1, "{trace:?}");
    assert_eq!(count(&trace, "store"), 1, "{trace:?}");
    // The three layers it shares pass through the export unparsed, from the cache.
    assert_eq!(count(&trace, "hit"), 3, "{trace:?}");
}
