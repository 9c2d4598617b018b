//! Dialplans as an administrator works with them: checked from the command
//! line with exact positions, explained with `dialplan test`, and reloaded by
//! the running server when a file changes or on SIGHUP — atomically.

use std::path::Path;
use std::time::Duration;

use sb_e2e::{Server, config_text, free_port, run_cli};

const GOOD: &str = r#"[[context]]
name = "internal"

[[context.rule]]
name = "four digits"
to = "_1XXX"
actions = [{ ring_user = "${to}" }]
"#;

const BROKEN: &str = r#"[[context]]
name = "internal"

[[context.rule]]
name = "broken"
to = "_1["
actions = ["echo"]
"#;

fn write_config(dir: &Path) -> std::path::PathBuf {
    let config = dir.join("switchboard.toml");
    let plans = dir.join("plans");
    std::fs::create_dir_all(&plans).unwrap();
    let extra = format!("[dialplan]\ndir = \"{}\"\n", plans.display());
    std::fs::write(&config, config_text(dir, free_port(), "", &extra)).unwrap();
    config
}

#[test]
fn check_reports_dialplan_errors_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let plans = dir.path().join("plans");
    std::fs::write(plans.join("main.toml"), GOOD).unwrap();
    let out = run_cli(&config, &["check"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 rule(s): valid"));

    std::fs::write(plans.join("other.toml"), BROKEN).unwrap();
    let out = run_cli(&config, &["check"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("other.toml:6:9: error"), "{err}");
}

#[test]
fn dialplan_test_explains_the_decision_and_the_rule_behind_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    std::fs::write(dir.path().join("plans/main.toml"), GOOD).unwrap();
    let out = run_cli(
        &config,
        &["dialplan", "test", "--from", "alice", "--to", "1234"],
    );
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\"four digits\""), "{text}");
    assert!(text.contains("main.toml:4"), "{text}");
    assert!(text.contains("ring 1234"), "{text}");

    let out = run_cli(
        &config,
        &["dialplan", "test", "--from", "alice", "--to", "5678"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("no rule matched"), "{text}");
}

#[test]
fn a_running_server_reloads_good_plans_and_keeps_its_plan_when_a_file_breaks() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_config(dir);
    let plan = dir.join("plans/main.toml");
    std::fs::write(&plan, GOOD).unwrap();
    let server = Server::start_in(dir);
    let wait = |what: &str| {
        server
            .wait_for_line(|l| l.contains(what), Duration::from_secs(15))
            .unwrap_or_else(|| panic!("no log line with {what:?}"))
    };

    // A broken edit is refused with its position; the running plan stays.
    std::fs::write(&plan, BROKEN).unwrap();
    let line = wait("main.toml:6:9");
    assert!(line.contains("error"), "{line}");
    wait("keeping the running dialplan");

    // The fix is picked up.
    std::fs::write(&plan, format!("{GOOD}\n# fixed\n")).unwrap();
    wait("dialplan reloaded");

    // SIGHUP reloads even without a change.
    let status = std::process::Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    wait("dialplan reloaded");
    server.stop();
}
