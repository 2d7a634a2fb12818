//! `workspace-backend connections ...` on the config file, and a running backend picking the change up on
//! SIGHUP without a restart.

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use tests::harness::{RuntimeProcess, binary};

const COMMENT: &str = "# my own note: keep me";

fn cli(workspace: &Path, args: &[&str]) -> Output {
    Command::new(binary("workspace-backend"))
        .arg("--workspace")
        .arg(workspace)
        .args(["--log", "warn", "connections"])
        .args(args)
        .output()
        .expect("the command runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A `workspace-backend` process in `workspace`; killed when dropped.
struct BackendProcess {
    child: Child,
    base: String,
}

impl BackendProcess {
    fn start(workspace: &Path) -> Self {
        let mut child = Command::new(binary("workspace-backend"))
            .arg("--workspace")
            .arg(workspace)
            .args(["--bind", "127.0.0.1:0", "--no-auth", "--log", "warn"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("the backend starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let base = line.trim().strip_prefix("listening on ").expect("listening line").to_owned();
        BackendProcess { child, base }
    }

    fn hang_up(&self) {
        let status = Command::new("kill").args(["-HUP", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
    }

    /// The status of `GET path`, once it equals `want` (or the last one seen after a few seconds).
    async fn status_becomes(&self, path: &str, want: u16) -> u16 {
        let mut status = 0;
        for _ in 0..100 {
            status = reqwest::get(format!("{}{path}", self.base)).await.unwrap().status().as_u16();
            if status == want {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        status
    }
}

impl BackendProcess {
    /// Waits until `/metrics` shows `line` (panics after a few seconds).
    async fn metric_becomes(&self, line: &str) {
        for _ in 0..100 {
            let text = reqwest::get(format!("{}/metrics", self.base)).await.unwrap().text().await.unwrap();
            if text.lines().any(|l| l == line) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("/metrics never showed {line}");
    }
}

impl Drop for BackendProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_edits_the_file_and_sighup_applies_it() {
    let runtime = RuntimeProcess::start(["--runtime-id", "dev"]);
    let workspace = tempfile::tempdir().unwrap();
    let file = workspace.path().join(".yoi/workspace-backend.local.toml");
    let backend = BackendProcess::start(workspace.path());
    std::fs::create_dir_all(workspace.path().join(".yoi")).unwrap();
    std::fs::write(&file, format!("{COMMENT}\n")).unwrap();

    let added = cli(workspace.path(), &["add", "--id", "dev", "--endpoint", &runtime.base, "--display-name", "Dev"]);
    assert!(added.status.success(), "{added:?}");
    assert!(stdout(&added).contains("SIGHUP"), "says how to apply it: {}", stdout(&added));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with(COMMENT) && text.contains("id = \"dev\""), "{text}");

    let listed = stdout(&cli(workspace.path(), &["list"]));
    assert!(listed.contains("dev") && listed.contains(&runtime.base), "{listed}");
    let tested = cli(workspace.path(), &["test", "dev"]);
    assert!(tested.status.success() && stdout(&tested).starts_with("compatible: "), "{}", stdout(&tested));

    // The same rules as the settings API.
    let refused = cli(workspace.path(), &["add", "--id", "dev", "--endpoint", &runtime.base]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("duplicate_connection"), "{refused:?}");
    let refused = cli(workspace.path(), &["add", "--id", "x", "--endpoint", "http://h", "--token-ref", "env:HOME"]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("token reference"), "{refused:?}");
    let dead = cli(workspace.path(), &["test", "dead", "--endpoint", "http://127.0.0.1:1"]);
    assert!(!dead.status.success() && stdout(&dead).contains("runtime_unavailable"), "{}", stdout(&dead));

    // The running backend serves it after SIGHUP, without a restart.
    assert_eq!(backend.status_becomes("/api/runtimes/dev", 404).await, 404, "not before the reload");
    backend.hang_up();
    assert_eq!(backend.status_becomes("/api/runtimes/dev", 200).await, 200);

    let removed = cli(workspace.path(), &["remove", "dev"]);
    assert!(removed.status.success(), "{removed:?}");
    backend.hang_up();
    assert_eq!(backend.status_becomes("/api/runtimes/dev", 404).await, 404);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), format!("{COMMENT}\n"));

    // A file broken by hand changes nothing on reload.
    std::fs::write(
        &file,
        format!("{COMMENT}\n[[runtimes.remote]]\nid = \"dev\"\nendpoint = \"http://{}\"\n[oops\n", runtime.addr()),
    )
    .unwrap();
    backend.hang_up();
    // Explicitly: the backend has taken this SIGHUP (and refused the file) before anything is checked.
    backend.metric_becomes(r#"yoi_backend_config_reloads_total{outcome="refused"} 1"#).await;
    assert_eq!(backend.status_becomes("/healthz", 200).await, 200, "still serving");
    assert_eq!(backend.status_becomes("/api/runtimes/dev", 404).await, 404, "and unchanged");
}
