//! The `switchboard` binary: command-line parsing, logging and signals. All
//! behaviour lives in `sb-server`; this file only wires the CLI to it.

// Printing results for the operator is this binary's job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use sb_server::Config;
use sb_server::admins::AdminAccounts;
use sb_server::users::{UserAdmin, UserSummary};

/// mimalloc: the SIP path allocates many small, short-lived buffers; it is
/// measurably cheaper than the system allocator for that (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Switchboard: SIP softswitch and WebRTC gateway.
#[derive(Debug, Parser)]
#[command(name = "switchboard", version, about, propagate_version = true)]
struct Cli {
    /// Configuration file (TOML). Without it the built-in defaults apply:
    /// SIP on UDP and TCP port 5060, domain `localhost`, database
    /// `./switchboard.db`.
    #[arg(
        long,
        short,
        global = true,
        env = "SWITCHBOARD_CONFIG",
        value_name = "FILE"
    )]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server until SIGINT or SIGTERM.
    Serve,
    /// Validate the configuration and every dialplan file; exits non-zero
    /// with the reasons (file:line:col for dialplans) on any problem.
    Check,
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Manage SIP users.
    User {
        #[command(subcommand)]
        action: UserCommand,
    },
    /// Manage administrator accounts of the HTTP API and web console.
    Admin {
        #[command(subcommand)]
        action: AdminCommand,
    },
    /// Work with the dialplan.
    Dialplan {
        #[command(subcommand)]
        action: DialplanCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Add an administrator.
    Add {
        /// Account name (letters, digits, `.`, `_`, `-`).
        name: String,
        /// Password (at least 8 characters). Prefer --password-stdin:
        /// arguments are visible to other local users.
        #[arg(long, conflicts_with = "password_stdin")]
        password: Option<String>,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the administrators.
    List,
    /// Delete an administrator (and its sessions and API tokens).
    Del {
        /// Account name.
        name: String,
    },
    /// Change an administrator's password (ends its sessions).
    Passwd {
        /// Account name.
        name: String,
        /// New password.
        #[arg(long, conflicts_with = "password_stdin")]
        password: Option<String>,
        /// Read the new password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
enum DialplanCommand {
    /// Print what the dialplan decides for a call, and which rule decided it.
    Test {
        /// Caller: `user` or `user@domain`.
        #[arg(long)]
        from: String,
        /// Dialed: a number, `user` or `user@domain`.
        #[arg(long)]
        to: String,
        /// Where the call comes from: `user:NAME`, `trunk:NAME` or `unknown`
        /// (default: the calling user).
        #[arg(long)]
        source: Option<String>,
        /// Time of the call: RFC 3339 (`2026-11-21T09:30:00Z`) or Unix seconds
        /// (default: now).
        #[arg(long)]
        at: Option<String>,
        /// Start context (default: the source's context from the configuration).
        #[arg(long)]
        context: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a user.
    Add {
        /// User name (the user part of the address, e.g. `alice`).
        name: String,
        /// Domain (defaults to the first configured domain).
        #[arg(long)]
        domain: Option<String>,
        /// Password. Prefer --password-stdin: arguments are visible to other
        /// local users.
        #[arg(long, conflicts_with = "password_stdin")]
        password: Option<String>,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Display name.
        #[arg(long)]
        display_name: Option<String>,
    },
    /// Add many users at once: one `NAME PASSWORD` per line on standard input
    /// (the password is the rest of the line); existing users are skipped.
    Import {
        /// Domain of every imported user (defaults to the first configured domain).
        #[arg(long)]
        domain: Option<String>,
    },
    /// List users.
    List {
        /// Only this domain.
        #[arg(long)]
        domain: Option<String>,
    },
    /// Delete a user (and the user's registrations).
    Del {
        /// User name.
        name: String,
        /// Domain (defaults to the first configured domain).
        #[arg(long)]
        domain: Option<String>,
    },
    /// Change a user's password.
    Passwd {
        /// User name.
        name: String,
        /// Domain (defaults to the first configured domain).
        #[arg(long)]
        domain: Option<String>,
        /// New password.
        #[arg(long, conflicts_with = "password_stdin")]
        password: Option<String>,
        /// Read the new password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("switchboard: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = match &cli.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    match &cli.command {
        Command::Check => return Ok(check(&cli, &config)),
        Command::Dialplan {
            action:
                DialplanCommand::Test {
                    from,
                    to,
                    source,
                    at,
                    context,
                },
        } => {
            let question = sb_server::dialplans::RouteQuestion {
                from: from.clone(),
                to: to.clone(),
                source: source.clone(),
                at: at.clone(),
                context: context.clone(),
            };
            print!(
                "{}",
                sb_server::dialplans::explain_route(&config, &question)?
            );
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    init_logging(&config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("switchboard")
        .build()
        .context("cannot start the async runtime")?;
    let outcome = runtime.block_on(async move {
        match cli.command {
            Command::Check | Command::Dialplan { .. } => {
                unreachable!("handled before the runtime starts")
            }
            Command::Serve => serve(config).await,
            Command::Migrate => {
                sb_server::migrate(&config).await?;
                println!("database {} is up to date", config.database.url);
                Ok(ExitCode::SUCCESS)
            }
            Command::User { action } => user(config, action).await,
            Command::Admin { action } => admin(config, action).await,
        }
    });
    // A task that never yields (it should not exist) would keep a plain drop
    // of the runtime waiting forever; the process ends regardless.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    outcome
}

/// `switchboard check`: the configuration was loaded already; now every
/// dialplan file.
fn check(cli: &Cli, config: &Config) -> ExitCode {
    let origin = cli.config.as_ref().map_or_else(
        || "built-in defaults".to_owned(),
        |p| p.display().to_string(),
    );
    println!("{origin}: configuration is valid");
    match sb_server::dialplans::load_configured(config) {
        Ok(loaded) => {
            for w in loaded.plan.warnings() {
                println!("{w}");
            }
            println!(
                "{}: {} dialplan file(s), {} rule(s): valid",
                config.dialplan.dir.display(),
                loaded.files.len(),
                loaded.plan.rule_count()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<ExitCode> {
    let server = sb_server::Server::start(config).await?;
    let mut listening: Vec<String> = server
        .sip_addresses()
        .iter()
        .map(|(t, a)| format!("{}:{a}", t.as_str().to_ascii_lowercase()))
        .collect();
    // The web console's URL ends the line (tests read it from there).
    listening.extend(server.http_url());
    println!(
        "switchboard {} listening on {}",
        env!("CARGO_PKG_VERSION"),
        listening.join(" ")
    );
    wait_for_signal().await?;
    tracing::info!("shutting down");
    server.shutdown().await?;
    Ok(ExitCode::SUCCESS)
}

async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}

async fn user(config: Config, action: UserCommand) -> anyhow::Result<ExitCode> {
    let admin = UserAdmin::open(&config).await?;
    let domain_or_default = |d: Option<String>| d.unwrap_or_else(|| config.sip.domains[0].clone());
    match action {
        UserCommand::Add {
            name,
            domain,
            password,
            password_stdin,
            display_name,
        } => {
            let domain = domain_or_default(domain);
            let password = read_password(password, password_stdin)?;
            admin
                .add(&name, &domain, &password, display_name.as_deref())
                .await?;
            println!("added {name}@{domain}");
        }
        UserCommand::Import { domain } => {
            let domain = domain_or_default(domain);
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("cannot read standard input")?;
            let mut entries = Vec::new();
            for (i, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let Some((name, password)) = line.split_once(char::is_whitespace) else {
                    anyhow::bail!("line {}: expected `NAME PASSWORD`", i + 1);
                };
                entries.push((name.to_owned(), password.trim().to_owned()));
            }
            let (added, skipped) = admin.import(&domain, &entries).await?;
            println!("imported {added} users into {domain} ({skipped} already existed)");
        }
        UserCommand::List { domain } => {
            let users = admin.list(domain.as_deref()).await?;
            print_users(&users);
        }
        UserCommand::Del { name, domain } => {
            let domain = domain_or_default(domain);
            admin.delete(&name, &domain).await?;
            println!("deleted {name}@{domain}");
        }
        UserCommand::Passwd {
            name,
            domain,
            password,
            password_stdin,
        } => {
            let domain = domain_or_default(domain);
            let password = read_password(password, password_stdin)?;
            admin.set_password(&name, &domain, &password).await?;
            println!("password of {name}@{domain} changed");
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn admin(config: Config, action: AdminCommand) -> anyhow::Result<ExitCode> {
    let admins = AdminAccounts::open(&config).await?;
    match action {
        AdminCommand::Add {
            name,
            password,
            password_stdin,
        } => {
            let password = read_password(password, password_stdin)?;
            admins.add(&name, &password).await?;
            println!("added administrator {name}");
        }
        AdminCommand::List => {
            for a in admins.list().await? {
                println!("{}{}", a.name, if a.enabled { "" } else { " (disabled)" });
            }
        }
        AdminCommand::Del { name } => {
            admins.delete(&name).await?;
            println!("deleted administrator {name}");
        }
        AdminCommand::Passwd {
            name,
            password,
            password_stdin,
        } => {
            let password = read_password(password, password_stdin)?;
            admins.set_password(&name, &password).await?;
            println!("password of administrator {name} changed");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn read_password(given: Option<String>, stdin: bool) -> anyhow::Result<String> {
    let password = match (given, stdin) {
        (Some(p), _) => p,
        (None, true) => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("cannot read the password from standard input")?;
            s.trim_end_matches(['\r', '\n']).to_owned()
        }
        (None, false) => anyhow::bail!("give --password or --password-stdin"),
    };
    if password.is_empty() {
        anyhow::bail!("the password must not be empty");
    }
    Ok(password)
}

fn print_users(users: &[UserSummary]) {
    println!("{:<32} {:<8} DISPLAY NAME", "USER", "ENABLED");
    for u in users {
        println!(
            "{:<32} {:<8} {}",
            format!("{}@{}", u.username, u.domain),
            if u.enabled { "yes" } else { "no" },
            u.display_name.as_deref().unwrap_or("")
        );
    }
}

fn init_logging(config: &Config) -> anyhow::Result<()> {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("RUST_LOG") {
        Ok(v) if !v.is_empty() => EnvFilter::try_new(v),
        _ => EnvFilter::try_new(&config.log.level),
    }
    .context("invalid log filter")?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.log.format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
    Ok(())
}
