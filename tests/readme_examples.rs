//! Every command the README shows in a `sh` block, and every `laicai …`
//! example a `--help` shows, run as written against a real engine, so no
//! documented command can panic or fail. They run in a scratch directory
//! holding copies of `configs/` and `data/` (what they write stays
//! there), with `laicai` on the PATH and LAICAI_URL naming the engine.

mod common;

use common::{temp_dir, EngineProcess};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The `laicai` commands of the README's `sh` blocks, in order:
/// continuation lines joined, comments dropped, `cargo run --release --`
/// read as `laicai`. The engine itself (`cargo run --release`), the test
/// command and `cargo install` are what this test does or needs not.
fn readme_commands() -> Vec<String> {
    let text = std::fs::read_to_string("README.md").expect("README.md");
    let mut out = Vec::new();
    let mut in_sh = false;
    let mut pending = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            in_sh = trimmed == "```sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        let code = strip_comment(trimmed);
        if let Some(head) = code.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        let full = format!("{pending}{code}");
        pending.clear();
        let full = full.trim();
        let command = match full.strip_prefix("cargo run --release -- ") {
            Some(rest) => format!("laicai {rest}"),
            None => full.to_string(),
        };
        if command.starts_with("laicai ") {
            out.push(command);
        } else {
            assert!(
                [
                    "",
                    "cargo run --release",
                    "bash tests/all.sh",
                    "cargo install --path ."
                ]
                .contains(&command.as_str()),
                "a README command this test does not know how to run: {command}"
            );
        }
    }
    out
}

/// A shell line without its `# comment` (a `#` outside quotes).
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if i == 0 || line[..i].ends_with(' ') => return line[..i].trim_end(),
            _ => {}
        }
    }
    line
}

/// The backticked `laicai …` examples of `laicai --help` and of every
/// subcommand's `--help`, recursively.
fn help_examples(bin: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![Vec::<String>::new()];
    while let Some(path) = todo.pop() {
        let help = Command::new(bin)
            .args(&path)
            .arg("--help")
            .output()
            .expect("--help");
        assert!(help.status.success(), "{path:?} --help");
        let text = String::from_utf8_lossy(&help.stdout).into_owned();
        for part in text.split('`').skip(1).step_by(2) {
            if part.starts_with("laicai ") && !part.contains('|') && !part.contains('…') {
                out.push(part.to_string());
            }
        }
        let mut commands = false;
        for line in text.lines() {
            if line.starts_with("Commands:") {
                commands = true;
                continue;
            }
            if commands {
                let Some(name) = line
                    .strip_prefix("  ")
                    .and_then(|l| l.split_whitespace().next())
                else {
                    break;
                };
                if name != "help" && name != "bench" {
                    let mut sub = path.clone();
                    sub.push(name.to_string());
                    todo.push(sub);
                }
            }
        }
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() {
            copy_dir(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).expect("copy");
        }
    }
}

/// Runs `line` with `sh`, as a reader would paste it; at most 60 s.
fn run(line: &str, dir: &Path, path_env: &str, url: &str) -> (bool, String) {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(line)
        .current_dir(dir)
        .env("PATH", path_env)
        .env("LAICAI_URL", url)
        .env_remove("LAICAI_TOKEN")
        .env_remove("LAICAI_CONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("sh");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            return (false, format!("{line}: still running after 60 s"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success() && !said.contains("panicked"), said)
}

#[actix_rt::test]
async fn every_documented_command_runs_as_written() {
    let state = temp_dir("readme-engine");
    // The engine as the quick start runs it: the default config.
    let engine = EngineProcess::start(&state, "").await;
    let scratch = temp_dir("readme-scratch");
    copy_dir(Path::new("configs"), &scratch.join("configs"));
    copy_dir(Path::new("data"), &scratch.join("data"));
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_laicai"));
    let bin_dir = temp_dir("readme-bin");
    std::os::unix::fs::symlink(&bin, bin_dir.join("laicai")).expect("symlink");
    let path_env = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let url = engine.url("/api/stream");

    let readme = readme_commands();
    assert!(readme.len() >= 10, "the README shows commands: {readme:?}");
    let help = help_examples(&bin);
    assert!(
        help.iter().any(|c| c.starts_with("laicai order buy")),
        "the help shows examples: {help:?}"
    );
    let mut failed = Vec::new();
    for line in readme.iter().chain(&help) {
        let (ok, said) = run(line, &scratch, &path_env, &url);
        if !ok {
            failed.push(format!("$ {line}\n{said}"));
        }
    }
    assert!(
        failed.is_empty(),
        "documented commands failed:\n{}",
        failed.join("\n")
    );
    // What they wrote stayed in the scratch directory.
    assert!(scratch.join("report/report.json").exists());
    assert!(scratch.join("report/equity.svg").exists());
    assert!(!engine.stderr().contains("panicked"));
}
