//! Every host look-up of the chapter against a real DNS server, compared with CPython.
//!
//! The fixture ([`DnsWorld`]) creates a network namespace `ps-dns-<pid>` with a veth pair in
//! it (10.53.0.1/24 and fd53::1/64 on one end), starts Debian's `dnsmasq` there with no
//! upstream at all (`no-resolv`, `no-hosts`, and `local=/#/`, so that every name it does not
//! serve is NXDOMAIN and nothing is ever forwarded), and writes `/etc/netns/<ns>/resolv.conf`
//! (`nameserver 10.53.0.1`, `search hellfly.net`) and `/etc/netns/<ns>/hosts`, which
//! `ip netns exec` binds over `/etc`. The zone is the chapter's world:
//!
//! | name | records |
//! |---|---|
//! | `apu.hellfly.net` | A 10.9.0.10; also `10.9.0.10 apu.hellfly.net apu` in the hosts file |
//! | `pymotw.com` | A 66.33.211.242; PTR of that address `apache2-echo.catalina.dreamhost.com` |
//! | `www.python.org` | CNAME `python.map.fastly.net`, CNAME `prod.python.map.fastlylb.net` |
//! | `prod.python.map.fastlylb.net` | A 151.101.32.223, AAAA 2a04:4e42:8::223, and their PTRs |
//! | `v6only.hellfly.net` | AAAA 2001:db8::6 only |
//! | `nosuchname` | nothing (NXDOMAIN, also under the search domain) |
//!
//! Each look-up runs as `ip netns exec <ns> portsock ...` and as CPython's `socket` module
//! (`tests/lookup_support/oracle.py`) in the same namespace at the same time; their output must
//! be identical, text and `--json`. A few answers are also checked against the chapter's own
//! figures, so that the two cannot agree on a broken zone. The guard removes dnsmasq, the
//! namespace and its `/etc/netns` files when the test ends, passes or fails.
//!
//! Needs root, `ip` (iproute2), `dnsmasq` and `python3` (`scripts/install-deps` installs them).
//! Without them the tests print `SKIPPED: <why>` and pass, unless
//! `PORTSOCK_REQUIRE_PRIVILEGED=1`, which makes that a failure.

mod lookup_support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lookup_support::{Answer, Place, assert_no_diffs, have_python};

/// dnsmasq's address inside the namespace.
const DNS_V4: &str = "10.53.0.1";
/// The namespace's IPv6 address (so that getaddrinfo's RFC 6724 sort sees a global source).
const DNS_V6: &str = "fd53::1";

/// The zone: the chapter's names, with nothing forwarded anywhere.
const DNSMASQ_CONF: &str = "\
no-resolv
no-hosts
no-poll
bind-interfaces
listen-address=10.53.0.1
port=53
local=/#/
host-record=apu.hellfly.net,10.9.0.10
address=/pymotw.com/66.33.211.242
ptr-record=242.211.33.66.in-addr.arpa,apache2-echo.catalina.dreamhost.com
host-record=prod.python.map.fastlylb.net,151.101.32.223,2a04:4e42:8::223
cname=python.map.fastly.net,prod.python.map.fastlylb.net
cname=www.python.org,python.map.fastly.net
host-record=v6only.hellfly.net,2001:db8::6
";

const HOSTS: &str = "\
127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
10.9.0.10\tapu.hellfly.net apu
";

/// The names every host look-up is asked about.
const NAMES: [&str; 9] = [
    "apu",
    "pymotw.com",
    "www.python.org",
    "nosuchname",
    "prod.python.map.fastlylb.net",
    "v6only.hellfly.net",
    "apu.hellfly.net",
    "10.9.0.10",
    "<broadcast>",
];

#[test]
fn host_lookups_agree_with_cpython_in_the_chapters_world() {
    let Some(world) = DnsWorld::start() else {
        return;
    };
    let ns = world.place();
    let mut diffs = Vec::new();
    for json in [false, true] {
        let mut run = |args: &[&str]| {
            let mut args = args.to_vec();
            if json {
                args.push("--json");
            }
            diffs.extend(ns.compare(&args));
        };
        run(&["hostname"]);
        for op in ["host", "host-ex", "fqdn"] {
            let mut args = vec!["lookup", op];
            args.extend(NAMES);
            args.push("");
            run(&args);
        }
        run(&["lookup", "fqdn"]);
        for addr in [
            "10.9.0.10",
            "66.33.211.242",
            "151.101.32.223",
            "2a04:4e42:8::223",
            "2001:db8::6",
            "pymotw.com",
            "www.python.org",
            "apu",
            // Failures: no PTR record (herror), no such name (gaierror), the wildcard.
            "10.53.0.77",
            "nosuchname",
            "",
        ] {
            run(&["lookup", "addr", addr]);
        }
        run(&["lookup", "addr", "10.9.0.10", "66.33.211.242"]);
        for args in [
            &["www.python.org", "http"][..],
            &[
                "www.python.org",
                "http",
                "--family",
                "inet",
                "--type",
                "stream",
                "--proto",
                "tcp",
                "--canonname",
            ],
            &["www.python.org", "https", "--canonname"],
            &[
                "www.python.org",
                "80",
                "--family",
                "inet6",
                "--type",
                "dgram",
            ],
            &["apu", "80", "--canonname"],
            &["pymotw.com", "ssh"],
            &["v6only.hellfly.net", "domain", "--canonname"],
            // Failures, each with its own resolver code.
            &["pymotw.com", "http", "--family", "inet6"],
            &["v6only.hellfly.net", "http", "--family", "inet"],
            &["nosuchname", "http"],
            &["127.0.0.1", "no-such-service"],
            &["apu", "80", "--flag", "AI_NUMERICHOST"],
            &["apu", "80", "--type", "stream", "--proto", "udp"],
        ] {
            let mut all = vec!["lookup", "addrinfo"];
            all.extend_from_slice(args);
            run(&all);
        }
    }
    assert_no_diffs(&diffs);
    the_chapters_figures(&ns);
}

/// With no `/etc/services` or `/etc/protocols` at all (a tmpfs over `/etc` in a private mount
/// namespace), CPython finds nothing while portsock answers from the built-in tables.
#[test]
fn services_fall_back_to_the_builtin_tables_without_system_files() {
    if let Some(why) = missing_privileges(&["unshare", "mount"]) {
        skip(&why);
        return;
    }
    let bare = |program: &str, args: &[&str]| -> Answer {
        let out = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg(r#"mount -t tmpfs portsock-empty-etc /etc && exec "$@""#)
            .arg("sh")
            .arg(program)
            .args(args)
            .output()
            .expect("run unshare");
        Answer {
            status: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    };
    let portsock = env!("CARGO_BIN_EXE_portsock");
    let python = lookup_support::python();
    let probe = bare(
        &python,
        &["-c", "import socket; socket.getservbyname('http')"],
    );
    assert!(
        probe.stderr.contains("service/proto not found"),
        "with /etc empty, CPython should find no services: {probe:?}"
    );
    let out = bare(
        portsock,
        &["lookup", "service", "http", "https://x", "gopher"],
    );
    assert_eq!(
        out.stdout, "  http : 80\n https : 443\ngopher : 70\n",
        "{out:?}"
    );
    let out = bare(portsock, &["lookup", "port", "21", "--proto", "udp"]);
    assert_eq!(out.stdout, "fsp://example.com/\n", "{out:?}");
    let out = bare(portsock, &["lookup", "proto", "tcp"]);
    assert_eq!(
        out.stdout, " tcp ->  6 (socket.IPPROTO_TCP  =  6)\n",
        "{out:?}"
    );
    // A miss is still a miss, with Python's message.
    let out = bare(portsock, &["lookup", "service", "no-such-service"]);
    assert_eq!(
        (out.status, out.stderr.as_str()),
        (Some(1), "error: no-such-service: service/proto not found\n")
    );
}

/// The chapter's printed answers (with Linux's error numbers where it shows macOS's).
fn the_chapters_figures(ns: &Place) {
    let out = ns.portsock(&[
        "lookup",
        "host",
        "apu",
        "pymotw.com",
        "www.python.org",
        "nosuchname",
    ]);
    assert_eq!(
        out.stdout,
        "apu : 10.9.0.10\npymotw.com : 66.33.211.242\nwww.python.org : 151.101.32.223\n\
         nosuchname : [Errno -2] Name or service not known\n"
    );
    // One of the list failed: exit 1 and the error line, unless --always-zero.
    assert_eq!(
        (out.status, out.stderr.as_str()),
        (
            Some(1),
            "error: nosuchname: [Errno -2] Name or service not known\n"
        )
    );
    let zero = ns.portsock(&["lookup", "host", "apu", "nosuchname", "--always-zero"]);
    assert_eq!(zero.status, Some(0), "{zero:?}");
    let out = ns.portsock(&["lookup", "host-ex", "apu", "www.python.org", "nosuchname"]);
    assert_eq!(
        out.stdout,
        "apu\n  Hostname: apu.hellfly.net\n  Aliases : ['apu']\n Addresses: ['10.9.0.10']\n\n\
         www.python.org\n  Hostname: prod.python.map.fastlylb.net\n  \
         Aliases : ['www.python.org', 'python.map.fastly.net']\n Addresses: ['151.101.32.223']\n\n\
         nosuchname\nERROR: [Errno -2] Name or service not known\n\n"
    );
    let out = ns.portsock(&["lookup", "fqdn", "apu", "pymotw.com"]);
    assert_eq!(
        out.stdout,
        "       apu : apu.hellfly.net\npymotw.com : apache2-echo.catalina.dreamhost.com\n"
    );
    let out = ns.portsock(&["lookup", "addr", "10.9.0.10"]);
    assert_eq!(
        out.stdout,
        "Hostname : apu.hellfly.net\nAliases  : ['apu']\nAddresses: ['10.9.0.10']\n"
    );
    let out = ns.portsock(&[
        "lookup",
        "addrinfo",
        "www.python.org",
        "http",
        "--family",
        "inet",
        "--type",
        "stream",
        "--proto",
        "tcp",
        "--canonname",
    ]);
    assert_eq!(
        out.stdout,
        "Family        : AF_INET\nType          : SOCK_STREAM\nProtocol      : IPPROTO_TCP\n\
         Canonical name: prod.python.map.fastlylb.net\nSocket address: ('151.101.32.223', 80)\n\n"
    );
    let out = ns.portsock(&["lookup", "addrinfo", "www.python.org", "http"]);
    for want in ["('151.101.32.223', 80)", "('2a04:4e42:8::223', 80, 0, 0)"] {
        assert!(out.stdout.contains(want), "{want} in {}", out.stdout);
    }
    let out = ns.portsock(&["lookup", "addr", "10.53.0.77"]);
    assert_eq!(out.stderr, "error: 10.53.0.77: [Errno 1] Unknown host\n");
}

/// A namespace with dnsmasq serving the chapter's world; dropping it removes everything.
struct DnsWorld {
    ns: String,
    etc: PathBuf,
    dir: tempfile::TempDir,
    dnsmasq: Option<Child>,
    created_ns: bool,
}

impl DnsWorld {
    /// Sets the world up, or prints why it cannot (and returns `None`, or fails under
    /// `PORTSOCK_REQUIRE_PRIVILEGED=1`).
    fn start() -> Option<Self> {
        if let Some(why) = missing_privileges(&["ip", "dnsmasq"]) {
            skip(&why);
            return None;
        }
        remove_stale_namespaces();
        let ns = format!("ps-dns-{}", std::process::id());
        let mut world = Self {
            etc: Path::new("/etc/netns").join(&ns),
            ns,
            dir: tempfile::tempdir().expect("temporary directory"),
            dnsmasq: None,
            created_ns: false,
        };
        if let Err(why) = run(&["ip", "netns", "add", &world.ns]) {
            skip(&format!("cannot create a network namespace: {why}"));
            return None;
        }
        world.created_ns = true;
        let n = world.ns.clone();
        for cmd in [
            &["ip", "-n", &n, "link", "set", "lo", "up"][..],
            &[
                "ip", "-n", &n, "link", "add", "psdns0", "type", "veth", "peer", "name", "psdns1",
            ],
            &[
                "ip",
                "-n",
                &n,
                "addr",
                "add",
                &format!("{DNS_V4}/24"),
                "dev",
                "psdns0",
            ],
            &[
                "ip",
                "-n",
                &n,
                "addr",
                "add",
                &format!("{DNS_V6}/64"),
                "dev",
                "psdns0",
                "nodad",
            ],
            &["ip", "-n", &n, "link", "set", "psdns0", "up"],
            &["ip", "-n", &n, "link", "set", "psdns1", "up"],
        ] {
            run(cmd).unwrap_or_else(|e| panic!("setting up {n}: {e}"));
        }
        fs::create_dir_all(&world.etc).expect("create /etc/netns/<ns>");
        fs::write(
            world.etc.join("resolv.conf"),
            format!("nameserver {DNS_V4}\nsearch hellfly.net\noptions timeout:2 attempts:2\n"),
        )
        .expect("write resolv.conf");
        fs::write(world.etc.join("hosts"), HOSTS).expect("write hosts");
        let conf = world.dir.path().join("dnsmasq.conf");
        fs::write(&conf, DNSMASQ_CONF).expect("write dnsmasq.conf");
        let log = fs::File::create(world.log_path()).expect("dnsmasq log");
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &world.ns,
                "dnsmasq",
                "--keep-in-foreground",
            ])
            .arg(format!("--conf-file={}", conf.display()))
            .args(["--log-facility=-", "--log-queries", "--pid-file="])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start dnsmasq");
        world.dnsmasq = Some(child);
        world.wait_until_serving();
        Some(world)
    }

    fn place(&self) -> Place {
        Place::netns(&self.ns)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("dnsmasq.log")
    }

    /// Waits until a look-up through the namespace's resolver gets dnsmasq's answer.
    fn wait_until_serving(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(Ok(Some(status))) = self.dnsmasq.as_mut().map(Child::try_wait) {
                panic!("dnsmasq exited ({status}): {}", self.log());
            }
            let out = self.place().portsock(&["lookup", "host", "pymotw.com"]);
            if out.stdout == "pymotw.com : 66.33.211.242\n" {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "dnsmasq does not answer: {out:?}\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }
}

impl Drop for DnsWorld {
    fn drop(&mut self) {
        if let Some(mut child) = self.dnsmasq.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if self.created_ns {
            let _ = run(&["ip", "netns", "del", &self.ns]);
        }
        let _ = fs::remove_dir_all(&self.etc);
    }
}

/// Why this process cannot run the privileged tests, if it cannot: not root, or a tool missing.
fn missing_privileges(tools: &[&str]) -> Option<String> {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1));
    if euid != Some("0") {
        return Some("not root (needs to create namespaces and mounts)".into());
    }
    for tool in tools {
        let found = std::env::var_os("PATH").is_some_and(|path| {
            std::env::split_paths(&path)
                .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
                .any(|dir| dir.join(tool).is_file())
        });
        if !found {
            return Some(format!("{tool} is not installed (scripts/install-deps)"));
        }
    }
    if !have_python() {
        return Some(format!("{} does not run", lookup_support::python()));
    }
    None
}

/// Prints why the test does not run; a failure under `PORTSOCK_REQUIRE_PRIVILEGED=1`.
fn skip(why: &str) {
    if std::env::var("PORTSOCK_REQUIRE_PRIVILEGED").as_deref() == Ok("1") {
        panic!("PORTSOCK_REQUIRE_PRIVILEGED=1 but: {why}");
    }
    println!("SKIPPED: {why}");
}

/// Removes the namespaces (and `/etc/netns` files) of earlier runs whose process is gone, in
/// case one was killed before its guard could clean up.
fn remove_stale_namespaces() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let Some(pid) = name.strip_prefix("ps-dns-") else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            let _ = run(&["ip", "netns", "del", name]);
            let _ = fs::remove_dir_all(Path::new("/etc/netns").join(name));
        }
    }
}

/// Runs a command; its stderr on failure.
fn run(args: &[&str]) -> Result<(), String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("{}: {e}", args[0]))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
