//! Browser tests' common steps: the `tests/browser` directory, the tools they
//! need (Node.js, npm, Debian's Chromium), the locked npm packages, and
//! running a script with a time limit.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// `tests/browser`, where the scripts and their `package.json` live.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// Fails the test unless Node.js, npm and Chromium are installed.
pub fn require_tools() {
    for cmd in ["node", "npm"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {cmd}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            found,
            "`{cmd}` not found: install the Debian packages nodejs, npm and chromium \
             (the test command .ci/test does)"
        );
    }
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "/usr/bin/chromium not found: install the Debian package chromium (the test command \
         .ci/test does)"
    );
}

/// Runs `npm ci` in [`dir`] unless `node_modules` already holds the locked
/// version of `package`.
pub fn install_packages(package: &str) {
    let dir = dir();
    let version = |path: PathBuf, pointer: &str| {
        let text = std::fs::read_to_string(path).ok()?;
        let value: serde_json::Value = serde_json::from_str(&text).ok()?;
        value.pointer(pointer)?.as_str().map(str::to_owned)
    };
    let locked = version(
        dir.join("package-lock.json"),
        &format!("/packages/node_modules~1{package}/version"),
    )
    .unwrap_or_else(|| panic!("{package} in package-lock.json"));
    let installed = version(
        dir.join("node_modules").join(package).join("package.json"),
        "/version",
    );
    if installed.as_deref() == Some(locked.as_str()) {
        return;
    }
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .output()
        .expect("run npm");
    assert!(
        out.status.success(),
        "npm ci in {} failed:\n{}{}",
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Waits for a browser script; past `limit` it is asked to stop (the
/// scripts close Chromium on SIGTERM), then killed, and `None` is returned.
pub fn wait_or_stop(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait for node") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            std::thread::sleep(Duration::from_secs(3));
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
