//! Smoke tests: run a command in a container of an image and say whether it passed. Every
//! container made here is removed afterwards, whether the command passed, failed, timed out
//! or the engine failed halfway.

use futures_util::StreamExt;

use super::{action_timeout, Client};
use pyslim_core::error::{Error, Result};
use pyslim_core::propose::shell;

/// Splits a smoke command as a shell would split simple words; anything with shell syntax
/// outside quotes runs through `/bin/sh -c` (so a quoted `python -c 'a; b'` still runs on an
/// image with no shell).
pub fn argv(cmd: &str) -> Vec<String> {
    if shell::needs_shell(cmd) {
        return vec!["/bin/sh".into(), "-c".into(), cmd.into()];
    }
    shell::words(cmd)
}

#[derive(Debug, Clone, PartialEq)]
pub struct SmokeOutcome {
    pub passed: bool,
    /// The command's exit code; `None` when it did not finish in time.
    pub exit_code: Option<i64>,
    /// What it wrote to stdout and stderr (the last `OUTPUT_LIMIT` bytes).
    pub output: String,
}

/// Output kept from a smoke test.
const OUTPUT_LIMIT: usize = 64 * 1024;

/// Runs `cmd` (argv; the image's entrypoint is replaced by `cmd[0]`) in a new container of
/// `image`, waits for it, collects its output, and removes the container.
pub fn run(client: &Client, image: &str, cmd: &[String]) -> Result<SmokeOutcome> {
    let Some((program, args)) = cmd.split_first() else {
        return Err(Error::Usage("the smoke test needs a command".into()));
    };
    let name = format!(
        "pyslim-smoke-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    );
    let docker = client.docker();
    client.block_on(async {
        let body = bollard::models::ContainerCreateBody {
            image: Some(image.to_owned()),
            entrypoint: Some(vec![program.clone()]),
            cmd: Some(args.to_vec()),
            network_disabled: Some(true),
            ..Default::default()
        };
        docker
            .create_container(
                Some(bollard::query_parameters::CreateContainerOptions {
                    name: Some(name.clone()),
                    ..Default::default()
                }),
                body,
            )
            .await
            .map_err(|e| daemon_error("create a smoke-test container", image, &e))?;
        let outcome = run_created(client, &name, image).await;
        // Always, also after a failure or a timeout.
        let removed = docker
            .remove_container(
                &name,
                Some(bollard::query_parameters::RemoveContainerOptions {
                    force: true,
                    v: true,
                    ..Default::default()
                }),
            )
            .await;
        let outcome = outcome?;
        removed.map_err(|e| daemon_error("remove the smoke-test container", &name, &e))?;
        Ok(outcome)
    })
}

fn daemon_error(what: &str, subject: &str, e: &bollard::errors::Error) -> Error {
    let described = crate::docker::connection::describe(e, subject);
    Error::Daemon(format!("cannot {what} for {subject}: {described}"))
}

async fn run_created(client: &Client, name: &str, image: &str) -> Result<SmokeOutcome> {
    let docker = client.docker();
    docker
        .start_container(name, None)
        .await
        .map_err(|e| daemon_error("start the smoke-test container", image, &e))?;
    let waited = tokio::time::timeout(action_timeout(), async {
        let mut wait = docker.wait_container(name, None);
        match wait.next().await {
            Some(Ok(r)) => Ok(r.status_code),
            // bollard reports a non-zero exit as an error carrying the code.
            Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => Ok(code),
            Some(Err(e)) => Err(daemon_error("wait for the smoke test", image, &e)),
            None => Err(Error::Daemon(format!(
                "the Docker daemon at {} stopped answering while the smoke test ran",
                super::host()
            ))),
        }
    })
    .await;
    let exit_code = match waited {
        Ok(code) => Some(code?),
        Err(_) => None,
    };
    let mut output = Vec::new();
    let mut logs = docker.logs(
        name,
        Some(bollard::query_parameters::LogsOptions {
            stdout: true,
            stderr: true,
            ..Default::default()
        }),
    );
    while let Some(Ok(chunk)) = logs.next().await {
        output.extend_from_slice(&chunk.into_bytes());
        if output.len() > 2 * OUTPUT_LIMIT {
            output.drain(..output.len() - OUTPUT_LIMIT);
        }
    }
    if output.len() > OUTPUT_LIMIT {
        output.drain(..output.len() - OUTPUT_LIMIT);
    }
    let mut output = String::from_utf8_lossy(&output).into_owned();
    if exit_code.is_none() {
        output.push_str(&format!(
            "\npyslim: the smoke test did not finish within {}s (PYSLIM_SMOKE_TIMEOUT)",
            action_timeout().as_secs()
        ));
    }
    Ok(SmokeOutcome {
        passed: exit_code == Some(0),
        exit_code,
        output,
    })
}

#[cfg(test)]
mod tests {
    use super::argv;

    #[test]
    fn smoke_commands_split_like_a_shell_or_go_through_one() {
        assert_eq!(
            argv("python -c 'import numpy'"),
            ["python", "-c", "import numpy"]
        );
        assert_eq!(argv("  a  \"b c\" '' "), ["a", "b c", ""]);
        assert_eq!(
            argv("python -V && echo ok"),
            ["/bin/sh", "-c", "python -V && echo ok"]
        );
    }
}
