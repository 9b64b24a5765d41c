//! Starting real `shield serve` processes for end-to-end tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The admin token every test node starts with.
pub const ADMIN: &str = "test-admin-token-0123456789";

/// A running `shield serve` child process.
pub struct NodeProcess {
    pub child: Child,
    pub url: String,
    pub syslog_udp: Option<String>,
    pub syslog_tcp: Option<String>,
    pub data: PathBuf,
    pub stdout_lines: Vec<String>,
}

/// The `shield` binary under test.
pub fn shield() -> Command {
    Command::new(env!("CARGO_BIN_EXE_shield"))
}

/// Starts a node on a free port with `data` as data directory; `extra` are more arguments, `env` more
/// environment variables.
pub fn start_node(data: &Path, extra: &[&str], env: &[(&str, &str)]) -> NodeProcess {
    let mut cmd = shield();
    cmd.arg("serve");
    // A free port unless the caller names the address (nodes that must know each other's).
    if !extra.contains(&"--listen") {
        cmd.arg("--listen").arg("127.0.0.1:0");
    }
    cmd.arg("--data")
        .arg(data)
        .args(extra)
        .env("SHIELD_ADMIN_TOKEN", ADMIN)
        .env("SHIELD_LOG", "warn")
        .env_remove("SHIELD_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn shield serve");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // Keep reading after the test stops listening, so the node never writes to a closed pipe.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    let mut url = None;
    let (mut udp, mut tcp) = (None, None);
    let wants_udp = extra.contains(&"--syslog-udp");
    let wants_tcp = extra.contains(&"--syslog-tcp");
    while url.is_none() || (wants_udp && udp.is_none()) || (wants_tcp && tcp.is_none()) {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("node did not start in time");
        if let Some(u) = line.strip_prefix("Shield node listening on ") {
            url = Some(u.trim().to_owned());
        }
        if let Some(a) = line.strip_prefix("syslog udp on ") {
            udp = Some(a.trim().to_owned());
        }
        if let Some(a) = line.strip_prefix("syslog tcp on ") {
            tcp = Some(a.trim().to_owned());
        }
        lines.push(line);
    }
    NodeProcess {
        child,
        url: url.expect("url"),
        syslog_udp: udp,
        syslog_tcp: tcp,
        data: data.to_owned(),
        stdout_lines: lines,
    }
}

impl NodeProcess {
    /// Stops the node with SIGTERM (graceful: drains the queue) and waits for it.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").arg("-TERM").arg(&pid).status();
        let started = std::time::Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                assert!(status.success(), "node exited with {status}");
                return;
            }
            if started.elapsed() > Duration::from_secs(60) {
                let _ = self.child.kill();
                panic!("node did not stop within 60 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Resident memory of the node process in KiB (Linux).
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// An HTTP client.
pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

/// The shared data folder, or `None` (with a message) when SHIELD_SHARED_DATA is unset. Panics when it
/// is set but missing.
pub fn shared_data() -> Option<PathBuf> {
    let Some(dir) = std::env::var_os("SHIELD_SHARED_DATA") else {
        eprintln!("skipping shared-data part: SHIELD_SHARED_DATA not set");
        return None;
    };
    let dir = PathBuf::from(dir);
    assert!(
        dir.is_dir(),
        "SHIELD_SHARED_DATA={} is not a directory",
        dir.display()
    );
    Some(dir)
}

/// GET a JSON document with the admin token.
pub async fn get_json(url: &str) -> serde_json::Value {
    let r = client()
        .get(url)
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("get");
    assert!(r.status().is_success(), "GET {url}: {}", r.status());
    r.json().await.expect("json")
}

/// Polls `/api/v1/stats` until `pred` holds (or 30 s pass) and returns the last answer.
pub async fn wait_stats(
    base: &str,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let started = std::time::Instant::now();
    loop {
        let s = get_json(&format!("{base}/api/v1/stats")).await;
        if pred(&s) || started.elapsed() > Duration::from_secs(30) {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Posts events as NDJSON to `/api/v1/events` with the admin token and expects 200.
pub async fn post_events(base: &str, events: &[serde_json::Value]) {
    let body: String = events.iter().map(|e| format!("{e}\n")).collect();
    let r = client()
        .post(format!("{base}/api/v1/events"))
        .bearer_auth(ADMIN)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// Spawns `shield serve` on a free port with `data` as data directory, its log (stderr) appended to
/// `log`, without waiting for it to listen (to watch or kill it while it starts).
pub fn spawn_node_logged(data: &Path, extra: &[&str], env: &[(&str, &str)], log: &Path) -> Child {
    let stderr = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("open node log");
    let mut cmd = shield();
    cmd.arg("serve")
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--data")
        .arg(data)
        .args(extra)
        .env("SHIELD_ADMIN_TOKEN", ADMIN)
        .env("SHIELD_LOG", "warn")
        .env_remove("SHIELD_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::from(stderr));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("spawn shield serve")
}

/// Waits until a node spawned by [`spawn_node_logged`] listens; the running node.
pub fn wait_listening(mut child: Child, data: &Path) -> NodeProcess {
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    let url = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("node did not start in time");
        lines.push(line.clone());
        if let Some(u) = line.strip_prefix("Shield node listening on ") {
            break u.trim().to_owned();
        }
    };
    NodeProcess {
        child,
        url,
        syslog_udp: None,
        syslog_tcp: None,
        data: data.to_owned(),
        stdout_lines: lines,
    }
}

/// Kills a node with SIGKILL (no draining, no flushing: a crash) and waits for it.
pub fn kill_node(mut node: NodeProcess) {
    node.child.kill().expect("SIGKILL");
    node.child.wait().expect("wait");
}
