//! The command line as an administrator uses it.

use sb_e2e::{config_text, free_port, run_cli};

#[test]
fn check_accepts_a_valid_file_and_rejects_a_bad_one_with_its_location() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(&good, config_text(dir.path(), free_port(), "", "")).unwrap();
    let out = run_cli(&good, &["check"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[sip]\ndomains = [\"example.test\"]\nlisen = [\"udp:0.0.0.0:5060\"]\n",
    )
    .unwrap();
    let out = run_cli(&bad, &["check"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml"), "{err}");
    assert!(err.contains("line 3"), "{err}");
    assert!(err.contains("lisen"), "{err}");

    let out = run_cli(&dir.path().join("missing.toml"), &["check"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml"));
}

#[test]
fn migrate_and_user_management_work_without_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("switchboard.toml");
    std::fs::write(&config, config_text(dir.path(), free_port(), "", "")).unwrap();
    assert!(run_cli(&config, &["migrate"]).status.success());
    let out = run_cli(&config, &["user", "add", "alice", "--password", "pw"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The default domain is the first configured one.
    let out = run_cli(&config, &["user", "list"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("alice@example.test"));
    let out = run_cli(&config, &["user", "add", "alice", "--password", "pw"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    let out = run_cli(&config, &["user", "add", "bad name", "--password", "pw"]);
    assert!(!out.status.success());
    // The password is not stored in clear anywhere in the database file.
    let db = std::fs::read(dir.path().join("switchboard.db")).unwrap();
    assert!(!db.windows(13).any(|w| w == b"unique-secret"), "sanity");
    let out = run_cli(
        &config,
        &["user", "add", "carol", "--password", "unique-secret"],
    );
    assert!(out.status.success());
    let mut all = std::fs::read(dir.path().join("switchboard.db")).unwrap();
    if let Ok(wal) = std::fs::read(dir.path().join("switchboard.db-wal")) {
        all.extend(wal);
    }
    assert!(
        !all.windows(13).any(|w| w == b"unique-secret"),
        "password stored in clear"
    );
}
