//! `shield demo`: a hub and three members (Estonia, Latvia, Lithuania) on loopback, each a real
//! `shield serve` process with its own temporary data directory, key and configuration, playing
//! the cross-border loop: publication, propagation through the hub, live detection, TLP:RED
//! kept home, a tampered object refused, sightings of one internal host in two countries raised
//! as a cross-border incident at the hub without the host name reaching it.
//!
//! The timeline goes to stderr; `--headless` prints a JSON summary on stdout and exits non-zero
//! when a step failed; otherwise the nodes keep running (their URLs and the admin token are
//! printed) until Ctrl-C.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use serde_json::{Value, json};
use shield_federation::identity::{NodeKey, derived_identity_id};
use shield_store::{Role, SqliteStore, TokenStore};

/// `shield demo` options.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Play the scenario, print a JSON summary and stop the nodes (exit 1 if a step failed).
    #[arg(long)]
    headless: bool,
    /// Indicators published to measure propagation.
    #[arg(long, default_value_t = 20)]
    rounds: usize,
    /// Members (3 to 20): EE, LV, LT, then more countries that receive.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(3..=20))]
    members: u8,
    /// Indicators EE publishes in one go to measure objects per second through the hub (0: skip).
    #[arg(long, default_value_t = 2000)]
    bulk: usize,
    /// Keep the temporary data directories.
    #[arg(long)]
    keep: bool,
}

const TAXII: &str = "application/taxii+json;version=2.1";
const SIGNATURE_EXTENSION: &str = "extension-definition--75a60d05-dc33-40bb-bda2-c2a055b5e9d5";
const GREEN: &str = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
const AMBER: &str = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
const RED: &str = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";
const INTERNAL_HOST: &str = "fin-ws-17.corp.local";
const INTERNAL_ADDRESS: &str = "10.20.0.17";
const WAIT: Duration = Duration::from_secs(20);
/// The members a demo can start: the three Baltic CERTs, then more that receive.
const MEMBERS: [(&str, &str); 20] = [
    ("ee-cert", "EE"),
    ("lv-cert", "LV"),
    ("lt-cert", "LT"),
    ("fi-cert", "FI"),
    ("pl-cert", "PL"),
    ("se-cert", "SE"),
    ("dk-cert", "DK"),
    ("de-cert", "DE"),
    ("nl-cert", "NL"),
    ("fr-cert", "FR"),
    ("ie-cert", "IE"),
    ("pt-cert", "PT"),
    ("es-cert", "ES"),
    ("it-cert", "IT"),
    ("at-cert", "AT"),
    ("cz-cert", "CZ"),
    ("sk-cert", "SK"),
    ("si-cert", "SI"),
    ("hr-cert", "HR"),
    ("hu-cert", "HU"),
];

struct Site {
    name: &'static str,
    country: &'static str,
    role: &'static str,
    data: PathBuf,
    port: u16,
    public_key: String,
    identity: String,
    admin: String,
    child: Option<Child>,
}

impl Site {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(10) {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The timeline and the steps.
struct Report {
    started: Instant,
    steps: Vec<Value>,
    samples_ms: Vec<f64>,
    throughput: Option<Value>,
}

impl Report {
    fn note(&self, text: &str) {
        eprintln!(
            "[{:>8.1} ms] {text}",
            self.started.elapsed().as_secs_f64() * 1e3
        );
    }

    fn step(&mut self, name: &str, result: anyhow::Result<String>) {
        let (passed, detail) = match result {
            Ok(d) => (true, d),
            Err(e) => (false, format!("{e:#}")),
        };
        self.note(&format!(
            "{} {name}: {detail}",
            if passed { "PASS" } else { "FAIL" }
        ));
        self.steps
            .push(json!({"name": name, "passed": passed, "detail": detail}));
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn prepare_site(
    root: &Path,
    name: &'static str,
    country: &'static str,
    role: &'static str,
) -> anyhow::Result<Site> {
    let data = root.join(name);
    std::fs::create_dir_all(&data)?;
    let key = NodeKey::generate()?;
    key.write_file(&data.join("node-key.pem"), false)?;
    let store = SqliteStore::open(&data)?;
    let (_, admin) = store.create_token("demo admin", Role::Admin, Some(name))?;
    Ok(Site {
        name,
        country,
        role,
        data,
        port: free_port()?,
        public_key: key.public_key().to_config_string(),
        identity: derived_identity_id(name),
        admin,
        child: None,
    })
}

/// A peer token on `at`'s data directory for `peer`.
fn peer_token(at: &Site, peer: &Site) -> anyhow::Result<String> {
    let store = SqliteStore::open(&at.data)?;
    Ok(store
        .create_token(peer.name, Role::Peer, Some(&peer.identity))?
        .1)
}

fn write_config(
    site: &Site,
    peers: &[(&Site, &str, String)],
    trusted: &[&Site],
    community_key: &str,
) -> anyhow::Result<PathBuf> {
    let mut text = format!(
        "[server]\norganisation = \"{n}\"\n\n[log]\nlevel = \"warn\"\n\n[federation]\nenabled = true\n\
         organisation = \"{n}\"\ncountry = \"{c}\"\nrole = \"{r}\"\ncommunity_key = \"{community_key}\"\n\
         push_interval_ms = 50\n",
        n = site.name,
        c = site.country,
        r = site.role,
    );
    for (peer, relation, token) in peers {
        text += &format!(
            "\n[[federation.peers]]\nname = \"{}\"\nurl = \"{}/taxii2/shield/\"\nrelation = \"{relation}\"\n\
             organisation = \"{}\"\ncountry = \"{}\"\npublic_key = \"{}\"\ntoken = \"{token}\"\n",
            peer.name,
            peer.url(),
            peer.identity,
            peer.country,
            peer.public_key
        );
    }
    for t in trusted {
        text += &format!(
            "\n[[federation.trusted_keys]]\norganisation = \"{}\"\npublic_key = \"{}\"\ncountry = \"{}\"\n",
            t.identity, t.public_key, t.country
        );
    }
    let path = site.data.join("shield.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}

fn start_site(site: &mut Site, config: &Path) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("cannot find the shield binary")?;
    let mut child = Command::new(exe)
        .arg("serve")
        .arg("--config")
        .arg(config)
        .arg("--data")
        .arg(&site.data)
        .arg("--listen")
        .arg(format!("127.0.0.1:{}", site.port))
        .env_remove("SHIELD_CONFIG")
        .env_remove("SHIELD_ADMIN_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start shield serve")?;
    let stdout = child.stdout.take().context("no stdout")?;
    site.child = Some(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .with_context(|| format!("{} did not start", site.name))?;
        if line.starts_with("Shield node listening on ") {
            return Ok(());
        }
    }
}

fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn indicator(domain: &str, marking: &str) -> Value {
    let now = now_text();
    json!({
        "type": "indicator", "spec_version": "2.1",
        "id": format!("indicator--{}", uuid::Uuid::new_v4()),
        "created": now, "modified": now, "name": format!("C2 domain {domain}"),
        "pattern": format!("[domain-name:value = '{domain}']"), "pattern_type": "stix",
        "valid_from": now, "object_marking_refs": [marking],
    })
}

struct Http {
    client: reqwest::Client,
}

impl Http {
    async fn post_objects(
        &self,
        site: &Site,
        collection: &str,
        token: &str,
        objects: Vec<Value>,
    ) -> anyhow::Result<u16> {
        let r = self
            .client
            .post(format!(
                "{}/taxii2/shield/collections/{collection}/objects/",
                site.url()
            ))
            .bearer_auth(token)
            .header("Accept", TAXII)
            .header("Content-Type", TAXII)
            .json(&json!({ "objects": objects }))
            .send()
            .await?;
        Ok(r.status().as_u16())
    }

    async fn object(
        &self,
        site: &Site,
        collection: &str,
        id: &str,
    ) -> anyhow::Result<Option<Value>> {
        let r = self
            .client
            .get(format!(
                "{}/taxii2/shield/collections/{collection}/objects/{id}/",
                site.url()
            ))
            .bearer_auth(&site.admin)
            .header("Accept", TAXII)
            .send()
            .await?;
        if r.status() == 404 {
            return Ok(None);
        }
        let v: Value = r.json().await?;
        Ok(v["objects"].as_array().and_then(|a| a.last().cloned()))
    }

    async fn wait_object(&self, site: &Site, collection: &str, id: &str) -> anyhow::Result<Value> {
        let started = Instant::now();
        loop {
            if let Some(o) = self.object(site, collection, id).await? {
                return Ok(o);
            }
            if started.elapsed() > WAIT {
                bail!("{id} did not reach {} within {WAIT:?}", site.name);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    async fn get(&self, site: &Site, path: &str) -> anyhow::Result<Value> {
        let r = self
            .client
            .get(format!("{}{path}", site.url()))
            .bearer_auth(&site.admin)
            .send()
            .await?;
        Ok(r.json().await?)
    }

    /// How many `bulk-` indicators a node's `shared` collection holds (every page).
    async fn count_bulk(&self, site: &Site) -> anyhow::Result<usize> {
        let mut count = 0;
        let mut next: Option<String> = None;
        loop {
            let mut path =
                "/taxii2/shield/collections/shared/objects/?limit=1000&match[type]=indicator"
                    .to_owned();
            if let Some(n) = &next {
                path += &format!("&next={n}");
            }
            let r = self
                .client
                .get(format!("{}{path}", site.url()))
                .bearer_auth(&site.admin)
                .header("Accept", TAXII)
                .send()
                .await?;
            let v: Value = r.json().await?;
            count += v["objects"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter(|o| o["name"].as_str().is_some_and(|n| n.contains(" bulk-")))
                        .count()
                })
                .unwrap_or(0);
            if v["more"] == json!(true) {
                next = v["next"].as_str().map(str::to_owned);
                if next.is_none() {
                    bail!("a page with more but no next");
                }
            } else {
                return Ok(count);
            }
        }
    }

    /// Waits for `id` in every site's `shared` collection at once; each arrival with the time
    /// since `posted`.
    async fn wait_all(
        &self,
        sites: &[&Site],
        id: &str,
        posted: Instant,
    ) -> Vec<(anyhow::Result<Value>, Duration)> {
        let mut tasks = Vec::new();
        for site in sites {
            let (client, url, admin, id) = (
                self.client.clone(),
                site.url(),
                site.admin.clone(),
                id.to_owned(),
            );
            tasks.push(tokio::spawn(async move {
                let http = Http { client };
                let r = http.wait_at(&url, &admin, &id).await;
                (r, posted.elapsed())
            }));
        }
        let mut out = Vec::new();
        for t in tasks {
            out.push(match t.await {
                Ok(r) => r,
                Err(e) => (
                    Err(anyhow::anyhow!("waiting task failed: {e}")),
                    posted.elapsed(),
                ),
            });
        }
        out
    }

    async fn wait_at(&self, url: &str, admin: &str, id: &str) -> anyhow::Result<Value> {
        let started = Instant::now();
        loop {
            let r = self
                .client
                .get(format!(
                    "{url}/taxii2/shield/collections/shared/objects/{id}/"
                ))
                .bearer_auth(admin)
                .header("Accept", TAXII)
                .send()
                .await?;
            if r.status() != 404 {
                let v: Value = r.json().await?;
                if let Some(o) = v["objects"].as_array().and_then(|a| a.last().cloned()) {
                    return Ok(o);
                }
            }
            if started.elapsed() > WAIT {
                bail!("{id} did not reach {url} within {WAIT:?}");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Received indicators a node has made active: the count of its propagation histogram
    /// (`/metrics`), observed when each new indicator entered the live matcher.
    async fn activated(&self, site: &Site) -> anyhow::Result<u64> {
        let text = self
            .client
            .get(format!("{}/metrics", site.url()))
            .bearer_auth(&site.admin)
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        text.lines()
            .find_map(|l| l.strip_prefix("shield_federation_propagation_seconds_count "))
            .and_then(|v| v.trim().parse().ok())
            .with_context(|| format!("{} exposes no propagation count", site.name))
    }

    /// Waits until every site has activated `expected[i]` received indicators (polled every
    /// 20 ms); the time since `posted` at which each got there.
    async fn wait_activated(
        &self,
        sites: &[&Site],
        expected: &[u64],
        posted: Instant,
        deadline: Duration,
    ) -> anyhow::Result<Vec<Duration>> {
        let mut done: Vec<Option<Duration>> = vec![None; sites.len()];
        while done.iter().any(Option::is_none) {
            for (i, site) in sites.iter().enumerate() {
                if done[i].is_none() && self.activated(site).await? >= expected[i] {
                    done[i] = Some(posted.elapsed());
                }
            }
            if posted.elapsed() > deadline {
                let missing: Vec<&str> = sites
                    .iter()
                    .zip(&done)
                    .filter(|(_, d)| d.is_none())
                    .map(|(s, _)| s.name)
                    .collect();
                bail!("not every indicator active within {deadline:?} at {missing:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(done.into_iter().flatten().collect())
    }

    async fn alerts(&self, site: &Site, kind: &str) -> anyhow::Result<Vec<Value>> {
        let v = self
            .get(site, &format!("/api/v1/alerts?kind={kind}"))
            .await?;
        Ok(v["alerts"].as_array().cloned().unwrap_or_default())
    }

    async fn wait_alert(&self, site: &Site, kind: &str) -> anyhow::Result<Value> {
        let started = Instant::now();
        loop {
            if let Some(a) = self.alerts(site, kind).await?.into_iter().next() {
                return Ok(a);
            }
            if started.elapsed() > WAIT {
                bail!("no {kind} alert at {} within {WAIT:?}", site.name);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Runs the demo.
pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    crate::install_tls_provider();
    let root = std::env::temp_dir().join(format!(
        "shield-demo-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_millis()
    ));
    std::fs::create_dir_all(&root)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(play(&root, &args));
    if !args.keep {
        let _ = std::fs::remove_dir_all(&root);
    } else {
        eprintln!("data directories kept in {}", root.display());
    }
    let summary = outcome?;
    let failed = summary["steps"]
        .as_array()
        .is_some_and(|s| s.iter().any(|s| s["passed"] != json!(true)));
    if args.headless {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    }
    if failed {
        bail!("a demo step failed");
    }
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

async fn play(root: &Path, args: &DemoArgs) -> anyhow::Result<Value> {
    let mut report = Report {
        started: Instant::now(),
        steps: Vec::new(),
        samples_ms: Vec::new(),
        throughput: None,
    };
    // 32 random bytes (two version-4 UUIDs) shared by the community.
    let community_key = {
        use base64::Engine as _;
        let mut secret = uuid::Uuid::new_v4().as_bytes().to_vec();
        secret.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
        base64::engine::general_purpose::STANDARD.encode(secret)
    };
    let mut hub = prepare_site(root, "eu-hub", "BE", "hub")?;
    let mut members = Vec::new();
    for (name, country) in MEMBERS.iter().take(usize::from(args.members)) {
        members.push(prepare_site(root, name, country, "member")?);
    }
    // Tokens: the hub gives each member one, each member gives the hub one.
    let mut hub_peers = Vec::new();
    let mut member_tokens = Vec::new();
    for m in &members {
        hub_peers.push((m, "member", peer_token(m, &hub)?));
        member_tokens.push(peer_token(&hub, m)?);
    }
    let hub_config = write_config(&hub, &hub_peers, &[], &community_key)?;
    drop(hub_peers);
    let mut configs = Vec::new();
    for (i, m) in members.iter().enumerate() {
        let others: Vec<&Site> = members.iter().filter(|o| o.name != m.name).collect();
        configs.push(write_config(
            m,
            &[(&hub, "hub", member_tokens[i].clone())],
            &others,
            &community_key,
        )?);
    }
    report.note("starting a hub (BE) and three members (EE, LV, LT) on loopback");
    let started = start_site(&mut hub, &hub_config).and_then(|()| {
        for (m, c) in members.iter_mut().zip(&configs) {
            start_site(m, c)?;
        }
        Ok(())
    });
    report.step(
        "nodes started",
        started.map(|()| {
            std::iter::once(&hub)
                .chain(members.iter())
                .map(|s| format!("{} {}", s.name, s.url()))
                .collect::<Vec<_>>()
                .join(", ")
        }),
    );
    let http = Http {
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?,
    };
    let (ee, lv, lt) = (&members[0], &members[1], &members[2]);
    let receivers: Vec<&Site> = members[1..].iter().collect();

    // Propagation: EE publishes, every other member receives through the hub.
    let mut first_domain = String::new();
    let propagation: anyhow::Result<String> = async {
        for round in 0..args.rounds.max(1) {
            let domain = format!("c2-{round}.evil-updates.example");
            // AMBER: relayed to the community; the sightings and incident it leads to stay
            // among the organisations involved.
            let object = indicator(&domain, AMBER);
            let id = object["id"].as_str().unwrap_or_default().to_owned();
            let posted = Instant::now();
            let status = http.post_objects(ee, "indicators", &ee.admin, vec![object]).await?;
            if status != 202 {
                bail!("EE refused its own indicator: HTTP {status}");
            }
            let arrivals = http.wait_all(&receivers, &id, posted).await;
            for (r, elapsed) in arrivals {
                let object = r?;
                let signer = &object["extensions"][SIGNATURE_EXTENSION]["signer_ref"];
                if signer != &json!(ee.identity) {
                    bail!("{id} arrived without EE's signature");
                }
                report.samples_ms.push(elapsed.as_secs_f64() * 1e3);
            }
            if round == 0 {
                first_domain = domain;
                report.note(&format!("EE published {id}; every member has it"));
            }
        }
        let mut sorted = report.samples_ms.clone();
        sorted.sort_by(f64::total_cmp);
        Ok(format!(
            "{} deliveries, p50 {:.1} ms, p99 {:.1} ms (publish at EE → stored and active at each member)",
            sorted.len(),
            percentile(&sorted, 50.0),
            percentile(&sorted, 99.0)
        ))
    }
    .await;
    report.step(
        "EE's indicators reach every member through the hub, signed by EE",
        propagation,
    );

    // Live detection at LT with the indicator EE published.
    let live: anyhow::Result<String> = async {
        let event = json!({"dns": {"question": {"name": first_domain}}, "host": {"name": INTERNAL_HOST}, "source": {"ip": INTERNAL_ADDRESS}});
        let r = http
            .client
            .post(format!("{}/api/v1/events", lt.url()))
            .bearer_auth(&lt.admin)
            .body(format!("{event}\n"))
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("LT refused the event: HTTP {}", r.status());
        }
        let alert = http.wait_alert(lt, "intel").await?;
        Ok(format!(
            "LT raised {} on a DNS query for {first_domain}",
            alert["rule"]["id"]
        ))
    }
    .await;
    report.step("LT detects EE's indicator in its own traffic", live);

    // Throughput: EE publishes a burst; the time from its first request until every other
    // member has each of its indicators stored and active in its live matcher.
    if args.bulk > 0 {
        let bulk: anyhow::Result<String> = async {
            let objects: Vec<Value> = (0..args.bulk)
                .map(|i| indicator(&format!("bulk-{i}.evil-updates.example"), AMBER))
                .collect();
            let mut expected = Vec::new();
            for site in &receivers {
                expected.push(http.activated(site).await? + args.bulk as u64);
            }
            // A generous bound: the target is 5,000 objects per second.
            let deadline = WAIT + Duration::from_millis(args.bulk as u64 * 20);
            let posted = Instant::now();
            for chunk in objects.chunks(1000) {
                let status = http
                    .post_objects(ee, "indicators", &ee.admin, chunk.to_vec())
                    .await?;
                if status != 202 {
                    bail!("EE refused the batch: HTTP {status}");
                }
            }
            let published = posted.elapsed().as_secs_f64();
            let arrivals = http
                .wait_activated(&receivers, &expected, posted, deadline)
                .await?;
            let elapsed = arrivals
                .iter()
                .max()
                .copied()
                .unwrap_or_default()
                .as_secs_f64();
            let first = arrivals
                .iter()
                .min()
                .copied()
                .unwrap_or_default()
                .as_secs_f64();
            // Complete and exactly once: each member's inbox holds every object, once.
            for site in &receivers {
                let held = http.count_bulk(site).await?;
                if held != args.bulk {
                    bail!("{} holds {held} of {} objects", site.name, args.bulk);
                }
            }
            let rate = args.bulk as f64 / elapsed;
            let delivered = rate * receivers.len() as f64;
            report.throughput = Some(json!({
                "objects": args.bulk, "receivers": receivers.len(),
                "published_seconds": published,
                "first_member_seconds": first,
                "seconds": elapsed,
                "objects_per_second": rate, "deliveries_per_second": delivered,
            }));
            Ok(format!(
                "{} objects EE → hub → {} members, stored and active at the last of them {elapsed:.2} s \
                 after EE's first request (the first member {first:.2} s; EE accepted the last \
                 request at {published:.2} s): {rate:.0} objects/s, {delivered:.0} deliveries/s relayed",
                args.bulk,
                receivers.len()
            ))
        }
        .await;
        report.step(
            "a burst of EE's indicators reaches every member complete",
            bulk,
        );
    }

    // TLP:RED stays at EE.
    let red: anyhow::Result<String> = async {
        let red = indicator("insider.evil-updates.example", RED);
        let after = indicator("after-red.evil-updates.example", GREEN);
        let (red_id, after_id) = (
            red["id"].as_str().unwrap_or_default().to_owned(),
            after["id"].as_str().unwrap_or_default().to_owned(),
        );
        http.post_objects(ee, "indicators", &ee.admin, vec![red, after])
            .await?;
        http.wait_object(&hub, "shared", &after_id).await?;
        if http.object(&hub, "shared", &red_id).await?.is_some() {
            bail!("the RED indicator reached the hub");
        }
        Ok("a GREEN indicator published after it arrived, the RED one did not".to_owned())
    }
    .await;
    report.step("TLP:RED never leaves EE", red);

    // A tampered object is refused by the hub.
    let tamper: anyhow::Result<String> = async {
        let object = indicator("tampered.evil-updates.example", GREEN);
        let id = object["id"].as_str().unwrap_or_default().to_owned();
        http.post_objects(ee, "indicators", &ee.admin, vec![object])
            .await?;
        let mut relayed = http.wait_object(&hub, "shared", &id).await?;
        relayed["name"] = json!("harmless, trust me");
        relayed["modified"] = json!(now_text());
        let status = http
            .post_objects(&hub, "shared", &member_tokens[0], vec![relayed])
            .await?;
        if status != 403 {
            bail!("the hub answered HTTP {status} to an altered object");
        }
        Ok("HTTP 403, audited as federation.reject".to_owned())
    }
    .await;
    report.step("the hub refuses an object altered after signing", tamper);

    // The same internal host sighted in EE and LT: a cross-border incident.
    let incident: anyhow::Result<String> = async {
        // The same workstation name beacons to the C2 domain in Estonia too; LT's detection above
        // already made a sighting. Each node shares its sighting with the host as a pseudonym.
        let event = json!({"dns": {"question": {"name": first_domain}}, "host": {"name": INTERNAL_HOST}, "source": {"ip": "10.1.4.9"}});
        let r = http
            .client
            .post(format!("{}/api/v1/events", ee.url()))
            .bearer_auth(&ee.admin)
            .body(format!("{event}\n"))
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("EE refused the event: HTTP {}", r.status());
        }
        report.note(&format!("{} and {} both saw {INTERNAL_HOST} query {first_domain}", ee.name, lt.name));
        let started = Instant::now();
        loop {
            let mut keys = Vec::new();
            for site in [ee, lt] {
                let alerts = http.alerts(site, "incident").await?;
                keys.push(
                    alerts
                        .iter()
                        .filter_map(|a| a["details"]["correlation"]["key"].as_str())
                        .find(|k| k.starts_with("hmac-sha256:"))
                        .map(str::to_owned),
                );
            }
            if let [Some(at_ee), Some(at_lt)] = &keys[..] {
                if at_ee == at_lt {
                    return Ok(format!("incident alerts at EE and LT, correlated on {at_ee}"));
                }
            }
            if started.elapsed() > WAIT {
                bail!("no incident keyed by the host's pseudonym at EE and LT: {keys:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    .await;
    report.step(
        "sightings of one internal host in EE and LT raise a cross-border incident",
        incident,
    );

    let privacy: anyhow::Result<String> = async {
        let v = http
            .get(
                &hub,
                "/taxii2/shield/collections/shared/objects/?match[type]=sighting&limit=1000",
            )
            .await?;
        let text = v.to_string();
        if text.contains(INTERNAL_HOST) || text.contains(INTERNAL_ADDRESS) {
            bail!("the host name or its address reached the hub");
        }
        if !text.contains("hmac-sha256:") {
            bail!("the hub holds no pseudonymised sighting");
        }
        if !http.alerts(lv, "incident").await?.is_empty() {
            bail!("LV, not a contributor, received the AMBER incident");
        }
        Ok("the hub holds pseudonyms only; LV (no sighting) got no incident".to_owned())
    }
    .await;
    report.step(
        "personal data stays home; the incident goes to its contributors",
        privacy,
    );

    let mut sorted = report.samples_ms.clone();
    sorted.sort_by(f64::total_cmp);
    let nodes: Vec<Value> = std::iter::once(&hub)
        .chain(members.iter())
        .map(|s| json!({"name": s.name, "country": s.country, "role": s.role, "url": s.url(), "identity": s.identity}))
        .collect();
    let summary = json!({
        "steps": report.steps,
        "propagation": {
            "samples": sorted.len(),
            "p50_ms": percentile(&sorted, 50.0),
            "p99_ms": percentile(&sorted, 99.0),
            "max_ms": sorted.last().copied().unwrap_or(0.0),
        },
        "throughput": report.throughput,
        "nodes": nodes,
        "elapsed_ms": report.started.elapsed().as_millis() as u64,
    });
    if !args.headless {
        eprintln!();
        for s in std::iter::once(&hub).chain(members.iter()) {
            eprintln!(
                "{:8} {}  admin token {}  (TAXII {}/taxii2/)",
                s.name,
                s.url(),
                s.admin,
                s.url()
            );
        }
        eprintln!("nodes keep running; Ctrl-C stops them");
        let _ = tokio::signal::ctrl_c().await;
    }
    drop(hub);
    drop(members);
    Ok(summary)
}
