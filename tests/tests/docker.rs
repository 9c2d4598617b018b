//! The container deployment in `docker/`: the compose file, the node configurations it
//! mounts, the Dockerfile and README.md's table of ports agree with each other and with the
//! build scripts in `.ci/`, so none of them can drift from the others.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use sb_server::Config;
use yaml_rust2::{Yaml, YamlLoader};

/// Where the image reads its configuration (the compose file mounts the nodes' files there).
const CONFIG_IN_IMAGE: &str = "/etc/switchboard/switchboard.toml";

/// One port or port range a service opens on the host.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Opening {
    /// The compose service.
    service: String,
    /// `UDP` or `TCP`.
    protocol: &'static str,
    first: u16,
    last: u16,
    /// Reachable on the host's loopback address only.
    loopback_only: bool,
}

fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the e2e crate lives in the workspace")
        .join(relative)
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(repo_path(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

fn compose() -> Yaml {
    let mut documents =
        YamlLoader::load_from_str(&read("docker/compose.yaml")).expect("compose.yaml is YAML");
    assert_eq!(documents.len(), 1, "one YAML document");
    documents.remove(0)
}

fn service<'a>(compose: &'a Yaml, name: &str) -> &'a Yaml {
    let s = &compose["services"][name];
    assert!(!s.is_badvalue(), "compose.yaml has no service `{name}`");
    s
}

fn text<'a>(value: &'a Yaml, what: &str) -> &'a str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {value:?}"))
}

fn list<'a>(value: &'a Yaml, what: &str) -> &'a [Yaml] {
    value
        .as_vec()
        .map(Vec::as_slice)
        .unwrap_or_else(|| panic!("{what} is not a list: {value:?}"))
}

fn protocol_name(cell: &str) -> &'static str {
    match cell.trim().to_ascii_uppercase().as_str() {
        "UDP" => "UDP",
        "TCP" => "TCP",
        other => panic!("unknown protocol {other:?}"),
    }
}

/// `5060`, `16384-24575` or `16384–24575`.
fn port_range(text: &str) -> (u16, u16) {
    let parse = |p: &str| -> u16 {
        p.trim()
            .parse()
            .unwrap_or_else(|e| panic!("port {p:?}: {e}"))
    };
    match text.split_once(['-', '–']) {
        Some((a, b)) => (parse(a), parse(b)),
        None => (parse(text), parse(text)),
    }
}

/// The section of README.md that documents the deployment.
fn readme_deployment() -> String {
    let readme = read("README.md");
    let start = readme
        .find("\n## Deployment: containers and clusters\n")
        .expect("README.md has a deployment section");
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    rest[..end].to_owned()
}

/// README.md's table of ports to open (`| service | what | protocol | port |`).
fn readme_openings(section: &str) -> BTreeSet<Opening> {
    let mut lines = section
        .lines()
        .skip_while(|l| !l.starts_with("| service | what | protocol | port |"));
    assert!(lines.next().is_some(), "README.md has the table of ports");
    let mut out = BTreeSet::new();
    for row in lines.skip(1).take_while(|l| l.starts_with('|')) {
        let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
        assert_eq!(cells.len(), 4, "table row {row:?}");
        let service = cells[0].trim_matches('`').to_owned();
        let (range, loopback_only) = match cells[3].strip_prefix("not published") {
            Some(rest) => {
                let at = rest
                    .find("127.0.0.1:")
                    .unwrap_or_else(|| panic!("{row:?} names no loopback address"));
                let port: String = rest[at + "127.0.0.1:".len()..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                (port_range(&port), true)
            }
            None => (port_range(cells[3]), false),
        };
        for protocol in cells[2].split(',') {
            let added = out.insert(Opening {
                service: service.clone(),
                protocol: protocol_name(protocol),
                first: range.0,
                last: range.1,
                loopback_only,
            });
            assert!(added, "{row:?} is listed twice");
        }
    }
    assert!(!out.is_empty(), "the table of ports has rows");
    out
}

/// A compose `ports` entry: `[IP:]HOST:CONTAINER[/PROTOCOL]`.
fn published(service_name: &str, entry: &str) -> Opening {
    let (mapping, protocol) = entry.split_once('/').unwrap_or((entry, "tcp"));
    let parts: Vec<&str> = mapping.split(':').collect();
    let (ip, host) = match parts.as_slice() {
        [host, _container] => (None, *host),
        [ip, host, _container] => (Some(*ip), *host),
        _ => panic!("{service_name}: port mapping {entry:?}"),
    };
    let (first, last) = port_range(host);
    Opening {
        service: service_name.to_owned(),
        protocol: protocol_name(protocol),
        first,
        last,
        loopback_only: ip.is_some_and(|ip| ip == "127.0.0.1" || ip == "::1"),
    }
}

/// The ports a node configuration listens on (SIP, HTTP, the RTP range).
fn config_openings(service_name: &str, config: &Config) -> Vec<Opening> {
    let opening = |protocol, first, last, ip: std::net::IpAddr| Opening {
        service: service_name.to_owned(),
        protocol,
        first,
        last,
        loopback_only: ip.is_loopback(),
    };
    let mut out = Vec::new();
    for l in &config.sip.listen {
        // TLS, WS and WSS run over TCP.
        let protocol = if l.transport.as_str() == "UDP" {
            "UDP"
        } else {
            "TCP"
        };
        out.push(opening(protocol, l.addr.port(), l.addr.port(), l.addr.ip()));
    }
    if config.http.enabled {
        let a = config.http.listen;
        out.push(opening("TCP", a.port(), a.port(), a.ip()));
    }
    if config.media.enabled {
        let m = &config.media;
        out.push(opening("UDP", m.port_min, m.port_max, m.bind));
    }
    out
}

/// The configuration file a node service mounts on [`CONFIG_IN_IMAGE`], as a path in the
/// repository.
fn mounted_config(compose: &Yaml, name: &str) -> PathBuf {
    let mounts: Vec<&str> = list(&service(compose, name)["volumes"], "volumes")
        .iter()
        .map(|v| text(v, "a volume"))
        .filter_map(|v| {
            let (source, rest) = v.split_once(':')?;
            let target = rest.split(':').next()?;
            (target == CONFIG_IN_IMAGE).then_some(source)
        })
        .collect();
    assert_eq!(mounts.len(), 1, "{name} mounts one configuration file");
    let source = mounts[0]
        .strip_prefix("./")
        .unwrap_or_else(|| panic!("{name}: {} is not next to compose.yaml", mounts[0]));
    repo_path("docker").join(source)
}

fn load(path: &Path) -> Config {
    assert!(path.is_file(), "{} does not exist", path.display());
    Config::load(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const NODES: [&str; 2] = ["node1", "node2"];

#[test]
fn the_compose_file_runs_postgres_and_two_nodes_of_the_documented_image() {
    let compose = compose();
    let section = readme_deployment();
    let image = section
        .split("docker build ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .and_then(|line| line.split(" -t ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("README.md shows `docker build … -t IMAGE`");
    let postgres = service(&compose, "postgres");
    assert!(text(&postgres["image"], "postgres image").starts_with("postgres:"));
    let check = list(&postgres["healthcheck"]["test"], "healthcheck test");
    assert!(
        check
            .iter()
            .any(|c| text(c, "healthcheck").contains("pg_isready")),
        "{check:?}"
    );
    let declared = compose["volumes"]
        .as_hash()
        .expect("compose.yaml declares named volumes");
    let is_declared = |mount: &str| {
        let source = mount.split(':').next().expect("split yields one part");
        declared.contains_key(&Yaml::String(source.to_owned()))
    };
    let data: Vec<&Yaml> = list(&postgres["volumes"], "postgres volumes")
        .iter()
        .filter(|v| text(v, "volume").ends_with(":/var/lib/postgresql/data"))
        .collect();
    assert_eq!(data.len(), 1, "postgres keeps its data in a volume");
    assert!(is_declared(text(data[0], "volume")), "{data:?}");
    for name in NODES {
        let node = service(&compose, name);
        assert_eq!(text(&node["image"], "image"), image, "{name}");
        assert_eq!(text(&node["build"]["context"], "build context"), "..");
        assert_eq!(
            text(&node["build"]["dockerfile"], "dockerfile"),
            "docker/Dockerfile"
        );
        assert_eq!(
            text(
                &node["depends_on"]["postgres"]["condition"],
                "depends_on postgres"
            ),
            "service_healthy",
            "{name}"
        );
        let dialplans: Vec<&str> = list(&node["volumes"], "volumes")
            .iter()
            .map(|v| text(v, "volume"))
            .filter(|v| v.ends_with(":/var/lib/switchboard/dialplans"))
            .collect();
        assert_eq!(dialplans.len(), 1, "{name} has a dialplans volume");
        assert!(is_declared(dialplans[0]), "{dialplans:?}");
    }
}

#[test]
fn the_readme_lists_exactly_the_ports_the_services_open() {
    let compose = compose();
    let documented = readme_openings(&readme_deployment());
    let mut actual = BTreeSet::new();
    let services = compose["services"].as_hash().expect("services");
    for (name, s) in services {
        let name = text(name, "service name");
        let host_network = s["network_mode"].as_str() == Some("host");
        if host_network {
            // Port mappings do not apply on the host's network: the node's
            // configuration decides what it opens.
            assert!(
                s["ports"].is_badvalue(),
                "{name}: ports with network_mode host"
            );
            actual.extend(config_openings(
                name,
                &load(&mounted_config(&compose, name)),
            ));
        } else if let Some(ports) = s["ports"].as_vec() {
            actual.extend(ports.iter().map(|p| published(name, text(p, "port"))));
        }
    }
    assert_eq!(
        documented, actual,
        "README.md's table of ports differs from docker/"
    );
    // On one host no two services may open the same port.
    let open: Vec<&Opening> = actual.iter().collect();
    for (i, a) in open.iter().enumerate() {
        for b in &open[i + 1..] {
            let overlap = a.protocol == b.protocol && a.first <= b.last && b.first <= a.last;
            assert!(
                a.service == b.service || !overlap,
                "{a:?} and {b:?} overlap"
            );
        }
    }
}

#[test]
fn every_node_loads_as_a_cluster_member_of_the_same_database() {
    let compose = compose();
    let postgres = service(&compose, "postgres");
    let env = &postgres["environment"];
    let user = text(&env["POSTGRES_USER"], "POSTGRES_USER");
    let password = text(&env["POSTGRES_PASSWORD"], "POSTGRES_PASSWORD");
    let database = text(&env["POSTGRES_DB"], "POSTGRES_DB");
    let loopback: Vec<Opening> = list(&postgres["ports"], "postgres ports")
        .iter()
        .map(|p| published("postgres", text(p, "port")))
        .collect();
    assert!(
        loopback.iter().all(|o| o.loopback_only),
        "PostgreSQL is published on loopback only: {loopback:?}"
    );
    let url = format!(
        "postgres://{user}:{password}@127.0.0.1:{}/{database}",
        loopback[0].first
    );
    let configs: Vec<Config> = NODES
        .iter()
        .map(|n| load(&mounted_config(&compose, n)))
        .collect();
    let mut names = BTreeSet::new();
    for (node, config) in NODES.iter().zip(&configs) {
        assert_eq!(config.database.url, url, "{node}");
        let name = config
            .cluster
            .node_name()
            .unwrap_or_else(|| panic!("{node} has no [cluster] node name"));
        assert!(names.insert(name), "{node}: node name {name} is taken");
        assert!(
            config.nonce_secret().is_some(),
            "{node}: nonce_secret is 64 hex digits"
        );
        // The other nodes (on the same host) reach it at its own SIP UDP port.
        let udp = config
            .sip
            .listen
            .iter()
            .find(|l| l.transport.as_str() == "UDP")
            .unwrap_or_else(|| panic!("{node} listens on UDP"));
        assert_eq!(
            config.cluster.address,
            format!("127.0.0.1:{}", udp.addr.port()),
            "{node}: [cluster] address"
        );
    }
    let first = &configs[0];
    for (node, config) in NODES.iter().zip(&configs).skip(1) {
        assert_eq!(
            config.nonce_secret(),
            first.nonce_secret(),
            "{node}: the same nonce secret on every node"
        );
        assert_eq!(config.sip.domains, first.sip.domains, "{node}: domains");
        assert_eq!(config.auth, first.auth, "{node}: [auth]");
    }
}

/// The Dockerfile's instructions, continuation lines joined.
fn dockerfile() -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in read("docker/Dockerfile").lines() {
        let line = line.trim();
        if current.is_empty() && (line.is_empty() || line.starts_with('#')) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part.trim());
                current.push(' ');
            }
            None => {
                current.push_str(line);
                out.push(std::mem::take(&mut current));
            }
        }
    }
    out
}

#[test]
fn the_image_builds_like_the_ci_scripts_and_runs_the_mounted_configuration() {
    let instructions = dockerfile();
    let serve = read(".ci/serve");
    let ci_build = serve
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("cargo build"))
        .expect(".ci/serve builds with cargo");
    let builds: Vec<&str> = instructions
        .iter()
        .filter_map(|i| i.strip_prefix("RUN "))
        .filter(|r| r.contains("cargo build"))
        .collect();
    assert_eq!(builds, [ci_build], "the Dockerfile's build step");

    let lib = read(".ci/lib.sh");
    let packages = lib
        .lines()
        .find_map(|l| l.strip_prefix("BUILD_PACKAGES=("))
        .and_then(|l| l.strip_suffix(')'))
        .expect(".ci/lib.sh lists BUILD_PACKAGES");
    let builder_install = instructions
        .iter()
        .take_while(|i| !i.starts_with("FROM debian"))
        .find(|i| i.starts_with("RUN ") && i.contains("apt-get install"))
        .expect("the build stage installs packages");
    let installed: BTreeSet<&str> = builder_install.split_whitespace().collect();
    for spec in packages.split_whitespace() {
        let package = spec.split_once(':').map_or(spec, |(_, p)| p);
        assert!(
            installed.contains(package),
            "{package} in {builder_install}"
        );
    }

    let froms: Vec<&str> = instructions
        .iter()
        .filter_map(|i| i.strip_prefix("FROM "))
        .collect();
    assert_eq!(
        froms.len(),
        2,
        "a build stage and a runtime stage: {froms:?}"
    );
    assert!(froms[0].starts_with("rust:1.95"), "{}", froms[0]);
    assert!(froms[1].starts_with("debian:bookworm-slim"), "{}", froms[1]);
    let has = |instruction: &str| instructions.iter().any(|i| i == instruction);
    assert!(has(r#"ENTRYPOINT ["switchboard"]"#), "{instructions:#?}");
    assert!(
        has(&format!(
            r#"CMD ["serve", "--config", "{CONFIG_IN_IMAGE}"]"#
        )),
        "{instructions:#?}"
    );
    assert!(
        instructions
            .iter()
            .any(|i| i.starts_with("USER ") && !i.ends_with(" root")),
        "the server runs as an unprivileged user"
    );

    // The image's own configuration loads, and EXPOSE names exactly its ports.
    let own = load(&repo_path("docker/switchboard.toml"));
    let exposed: BTreeSet<(&str, u16, u16)> = instructions
        .iter()
        .filter_map(|i| i.strip_prefix("EXPOSE "))
        .flat_map(str::split_whitespace)
        .map(|p| {
            let (range, protocol) = p.split_once('/').unwrap_or((p, "tcp"));
            let (first, last) = port_range(range);
            (protocol_name(protocol), first, last)
        })
        .collect();
    let listened: BTreeSet<(&str, u16, u16)> = config_openings("image", &own)
        .into_iter()
        .map(|o| (o.protocol, o.first, o.last))
        .collect();
    assert_eq!(exposed, listened, "EXPOSE and docker/switchboard.toml");
}
