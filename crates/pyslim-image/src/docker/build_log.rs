//! Reading a classic build's output for the images it made, so that clean-up can remove them
//! and nothing else. Pure: lines in, IDs out.

/// What the lines read so far say about the next ` ---> ID` line.
#[derive(Debug, Default)]
pub(crate) struct LogState {
    /// The last `Step N/M : …` was a FROM, and no ID has followed it yet: the next ID is
    /// the stage's base (pulled for this build, or one of the user's), never made here.
    after_from: bool,
}

/// Reads one line of build output (trimmed or not). Records in `made` the step image it
/// names, when the build made it; returns the built image's ID from `Successfully built`.
/// A FROM's base is left out: it may have been pulled during the build (so it is not among
/// the images that existed before), and it is the user's image all the same. A FROM of an
/// earlier stage of this build names that stage's last image, which its own step recorded.
pub(crate) fn read_line<'a>(
    line: &'a str,
    state: &mut LogState,
    made: &mut Vec<String>,
) -> Option<&'a str> {
    let line = line.trim();
    if let Some(id) = line.strip_prefix("Successfully built ") {
        return Some(id.trim());
    }
    if let Some(step) = line.strip_prefix("Step ") {
        // `Step 1/5 : FROM python:3.12 AS builder` (`Step 1 : …` from older engines).
        let instruction = step.split_once(" : ").map(|(_, i)| i).unwrap_or("");
        let keyword = instruction.split_whitespace().next().unwrap_or("");
        state.after_from = keyword.eq_ignore_ascii_case("FROM");
        return None;
    }
    if let Some(id) = line.strip_prefix("---> ") {
        // `---> Running in …` and `---> Using cache` are not IDs; a cached step's ID is
        // one that existed before, which `removable` leaves out.
        let id = id.trim();
        let plain = !id.is_empty() && id.chars().all(|c| c.is_ascii_hexdigit());
        if !plain {
            return None;
        }
        if std::mem::take(&mut state.after_from) {
            return None;
        }
        if !made.iter().any(|m| m == id) {
            made.push(id.to_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line of `log` read in order: the made IDs and the built one.
    fn read(log: &str) -> (Vec<String>, Option<String>) {
        let mut state = LogState::default();
        let mut made = Vec::new();
        let mut built = None;
        for line in log.lines() {
            if let Some(id) = read_line(line, &mut state, &mut made) {
                built = Some(id.to_owned());
            }
        }
        (made, built)
    }

    #[test]
    fn a_from_base_pulled_during_the_build_is_not_made_by_it() {
        // As the engine prints a two-stage build whose bases it had to pull.
        let log = "Step 1/6 : FROM python:3.12 AS builder
3.12: Pulling from library/python
 ---> 0a1b2c3d4e5f
Step 2/6 : RUN python -m venv /opt/venv
 ---> Running in 999999999999
Removing intermediate container 999999999999
 ---> 111111111111
Step 3/6 : COPY requirements.txt /app/
 ---> Using cache
 ---> 222222222222
Step 4/6 : from python:3.12-slim
 ---> 3a3a3a3a3a3a
Step 5/6 : COPY --from=builder /opt/venv /opt/venv
 ---> 444444444444
Step 6/6 : CMD [\"python\"]
 ---> Running in 888888888888
 ---> 555555555555
Successfully built 555555555555
Successfully tagged pyslim-proposal/app:latest
";
        let (made, built) = read(log);
        assert_eq!(
            made,
            vec![
                "111111111111",
                "222222222222",
                "444444444444",
                "555555555555"
            ],
            "neither FROM's base"
        );
        assert_eq!(built.as_deref(), Some("555555555555"));
    }

    #[test]
    fn only_the_first_id_after_a_from_is_its_base() {
        // An ONBUILD trigger runs in the FROM step: its image is the build's own.
        let (made, _) = read(
            "Step 1 : FROM onbuild-base\n ---> abcabcabcabc\n# Executing 1 build trigger\n ---> Running in 777777777777\n ---> 666666666666\nStep 2 : FROM abcabcabcabc AS again\n ---> abcabcabcabc\n",
        );
        assert_eq!(made, vec!["666666666666"]);
        // A FROM of an earlier stage names that stage's last image, made by this build.
        let (made, _) = read(
            "Step 1/3 : FROM base-image AS base\n ---> aaaaaaaaaaaa\nStep 2/3 : RUN make\n ---> bbbbbbbbbbbb\nStep 3/3 : FROM base\n ---> bbbbbbbbbbbb\n",
        );
        assert_eq!(made, vec!["bbbbbbbbbbbb"]);
        // A FROM's ID missing (the step failed): the next step's image still counts.
        let (made, _) = read("Step 1/2 : FROM x\nStep 2/2 : RUN y\n ---> cccccccccccc\n");
        assert_eq!(made, vec!["cccccccccccc"]);
    }
}
