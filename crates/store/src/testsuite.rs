//! The behavioural test suite every [`Store`] backend must pass.
//!
//! Each function takes a fresh, empty store and panics when the backend misbehaves. Run them all
//! against a backend with [`store_test_suite!`](crate::store_test_suite):
//!
//! ```ignore
//! shield_store::store_test_suite!(std::sync::Arc::new(MyBackend::connect_to_empty_test_db()));
//! ```
//!
//! The argument is evaluated once per test and must give a [`Backend`]: an `Arc` of the store, or a
//! fixture that owns the store together with what it needs to live (a temporary directory).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::HashSet;
use std::sync::Arc;
use std::thread;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;
use shield_event::{Alert, AlertKind, AlertSource, Level, RuleRef};
use uuid::Uuid;

use crate::{AlertQuery, AuditEntry, MAX_PAGE, Role, Store, StoreError};

pub use crate::intel::testsuite::*;

/// Something that yields the store under test.
pub trait Backend {
    /// The store (fresh and empty when the fixture was made).
    fn store(&self) -> Arc<dyn Store>;
}

impl<S: Store + 'static> Backend for Arc<S> {
    fn store(&self) -> Arc<dyn Store> {
        self.clone()
    }
}

/// Generates one `#[test]` per suite function, each on a new backend from `$backend`.
#[macro_export]
macro_rules! store_test_suite {
    ($backend:expr) => {
        $crate::store_test_suite!(@tests $backend;
            tokens_are_created_verified_and_listed,
            revoked_tokens_fail_verification,
            imported_tokens_are_idempotent,
            token_arguments_are_checked,
            alerts_round_trip_and_inserts_are_idempotent,
            alert_counts_follow_inserts,
            alert_filters_select_the_right_alerts,
            pagination_visits_every_alert_once_in_order,
            pagination_is_stable_under_concurrent_inserts,
            page_size_is_capped,
            malformed_cursors_are_rejected,
            ingest_counters_accumulate_per_input,
            audit_entries_newest_first_with_since_and_limit,
            state_values_persist_and_overwrite,
            intel_collections_are_stored_and_found_by_alias,
            intel_versions_are_idempotent_and_strictly_ordered,
            intel_writes_are_all_or_nothing,
            intel_tlp_rule_applies_to_every_read,
            intel_pagination_never_skips_or_repeats,
            intel_filters_select_the_right_versions,
            intel_deletes_only_what_the_reader_owns,
            intel_status_resources_are_kept_for_their_organisation,
            intel_lookup_and_live_indicators,
            intel_bulk_imports_keep_every_rule,
        );
    };
    (@tests $backend:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let backend = $backend;
                $crate::testsuite::$name($crate::testsuite::Backend::store(&backend));
            }
        )*
    };
}

/// 2024-05-01T00:00:00Z plus `secs`.
pub fn at(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0).unwrap() + Duration::seconds(secs)
}

/// An alert with id `Uuid::from_u128(n)`.
pub fn sample_alert(
    n: u128,
    created: DateTime<Utc>,
    level: Level,
    rule: &str,
    kind: AlertKind,
    org: Option<&str>,
) -> Alert {
    Alert {
        id: Uuid::from_u128(n).to_string(),
        created,
        event_time: Some(created - Duration::milliseconds(250)),
        kind,
        rule: RuleRef {
            id: rule.to_owned(),
            title: format!("Rule {rule}"),
            level,
            tags: vec!["attack.execution".into(), "attack.t1059.001".into()],
        },
        org: org.map(str::to_owned),
        source: AlertSource {
            input: "http".into(),
            path: None,
            record_id: Some(n as u64),
        },
        event: json!({"EventID": 4688, "CommandLine": format!("powershell -enc {n}")}),
        details: json!({"n": n as u64}),
    }
}

/// A mixing function, so that sample events differ the way real ones do (hashes, GUIDs, ids).
fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A realistic Windows event (Sysmon process creation in Winlogbeat's layout, about 1.5 KB of JSON
/// with its metadata) received at `received`. `n` varies what varies between real events: host,
/// user, process ids, GUIDs, hashes, command lines.
pub fn sample_windows_event(n: u64, received: DateTime<Utc>) -> shield_event::Event {
    const HOSTS: [&str; 4] = ["WS-FIN-0231", "WS-HR-0007", "SRV-DC-01", "WS-DEV-1142"];
    const USERS: [&str; 5] = ["j.tamm", "m.kask", "svc_backup", "a.ozols", "SYSTEM"];
    const IMAGES: [(&str, &str); 4] = [
        (
            "powershell.exe",
            "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        ),
        ("cmd.exe", "C:\\Windows\\System32\\cmd.exe"),
        ("rundll32.exe", "C:\\Windows\\System32\\rundll32.exe"),
        (
            "chrome.exe",
            "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
        ),
    ];
    let (r, r2) = (mix(n), mix(n ^ 0x5555));
    let host = format!("{}.corp.example", HOSTS[(r % 4) as usize]);
    let user = USERS[(r >> 8) as usize % USERS.len()];
    let (image_name, image) = IMAGES[(r >> 16) as usize % IMAGES.len()];
    let command_line = match image_name {
        "powershell.exe" => format!(
            "powershell.exe -NoProfile -ExecutionPolicy Bypass -EncodedCommand {:x}{:x}",
            r, r2
        ),
        "cmd.exe" => format!(
            "cmd.exe /c copy \\\\fs01\\share\\{:x}.tmp %TEMP%\\{}.bat",
            r2 & 0xffff,
            n
        ),
        "rundll32.exe" => format!(
            "rundll32.exe C:\\Users\\{user}\\AppData\\Local\\Temp\\{:x}.dll,DllRegisterServer",
            r2 & 0xfffff
        ),
        _ => format!(
            "\"{image}\" --type=renderer --renderer-client-id={} --field-trial-handle={:x}",
            n % 97,
            r2
        ),
    };
    let utc = received - Duration::milliseconds((r % 900) as i64);
    let data = json!({
        "@timestamp": utc.to_rfc3339(),
        "event": {"code": "1", "kind": "event", "provider": "Microsoft-Windows-Sysmon", "action": "Process Create"},
        "host": {"name": host, "os": {"family": "windows", "version": "10.0"}},
        "winlog": {
            "channel": "Microsoft-Windows-Sysmon/Operational",
            "computer_name": host,
            "event_id": 1,
            "record_id": 4_200_000 + n,
            "process": {"pid": 3120, "thread": {"id": 4000 + r2 % 900}},
            "provider_name": "Microsoft-Windows-Sysmon",
            "event_data": {
                "RuleName": "technique_id=T1059.001,technique_name=PowerShell",
                "UtcTime": utc.format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
                "ProcessGuid": format!("{{5770385f-{:04x}-{:04x}-{:04x}-{:012x}}}", r & 0xffff, (r >> 16) & 0xffff, (r >> 32) & 0xffff, r2 & 0xffff_ffff_ffff),
                "ProcessId": 1000 + r % 60_000,
                "Image": image,
                "OriginalFileName": image_name,
                "CommandLine": command_line,
                "CurrentDirectory": format!("C:\\Users\\{user}\\"),
                "User": format!("CORP\\{user}"),
                "LogonGuid": format!("{{5770385f-c1f8-6543-{:04x}-0b0000000000}}", r2 & 0xffff),
                "LogonId": format!("{:#x}", r2 & 0xff_ffff),
                "TerminalSessionId": r % 3,
                "IntegrityLevel": if user == "SYSTEM" { "System" } else { "Medium" },
                "Hashes": format!("SHA256={:016X}{:016X}{:016X}{:016X}", r, r2, mix(r), mix(r2)),
                "ParentProcessGuid": format!("{{5770385f-c21e-6543-{:04x}-000000000a00}}", r2 >> 48),
                "ParentProcessId": 1000 + r2 % 60_000,
                "ParentImage": "C:\\Windows\\explorer.exe",
                "ParentCommandLine": "C:\\Windows\\Explorer.EXE"
            }
        }
    });
    let mut event = shield_event::Event::new(
        data,
        std::sync::Arc::from("bulk"),
        shield_event::Format::Json,
    )
    .with_org(Some(std::sync::Arc::from("ee-cert")));
    event.meta.received = received;
    event
}

fn ids(alerts: &[Alert]) -> Vec<String> {
    alerts.iter().map(|a| a.id.clone()).collect()
}

/// Pages through `q` and returns every alert seen, in order.
fn collect_pages(store: &dyn Store, mut q: AlertQuery) -> Vec<Alert> {
    let mut out = Vec::new();
    for _ in 0..100_000 {
        let page = store.query_alerts(&q).unwrap();
        assert!(page.alerts.len() <= q.effective_limit());
        out.extend(page.alerts);
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => return out,
        }
    }
    panic!("pagination did not end");
}

pub fn tokens_are_created_verified_and_listed(store: Arc<dyn Store>) {
    let (admin, secret) = store.create_token("ops", Role::Admin, None).unwrap();
    assert!(
        secret.starts_with(crate::SECRET_PREFIX) && secret.len() == crate::SECRET_PREFIX.len() + 43
    );
    assert!(Uuid::try_parse(&admin.id).is_ok());
    assert_eq!(
        (admin.name.as_str(), admin.role, admin.revoked),
        ("ops", Role::Admin, false)
    );
    let (ingest, secret2) = store
        .create_token("dc01", Role::Ingest, Some("ee-cert"))
        .unwrap();
    assert_ne!(secret, secret2);

    assert_eq!(store.verify_token(&secret).unwrap(), Some(admin.clone()));
    assert_eq!(store.verify_token(&secret2).unwrap(), Some(ingest.clone()));
    assert_eq!(store.verify_token("shd_unknown").unwrap(), None);
    assert_eq!(store.verify_token("").unwrap(), None);
    assert_eq!(
        store.verify_token(&secret[..secret.len() - 1]).unwrap(),
        None
    );

    let listed = store.list_tokens().unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.contains(&admin) && listed.contains(&ingest));
    assert_eq!(store.count_tokens(None).unwrap(), 2);
    assert_eq!(store.count_tokens(Some(Role::Admin)).unwrap(), 1);
    assert_eq!(store.count_tokens(Some(Role::Peer)).unwrap(), 0);
}

pub fn revoked_tokens_fail_verification(store: Arc<dyn Store>) {
    let (a, secret_a) = store.create_token("a", Role::Analyst, None).unwrap();
    let (_, secret_b) = store.create_token("b", Role::Analyst, None).unwrap();
    assert!(store.revoke_token(&a.id).unwrap());
    assert_eq!(store.verify_token(&secret_a).unwrap(), None);
    assert!(
        store.verify_token(&secret_b).unwrap().is_some(),
        "revoking one token revoked another"
    );
    assert!(
        store.revoke_token(&a.id).unwrap(),
        "revoking twice is not an error"
    );
    assert!(!store.revoke_token("no-such-id").unwrap());
    let listed = store.list_tokens().unwrap();
    assert!(listed.iter().any(|t| t.id == a.id && t.revoked));
    assert_eq!(store.count_tokens(Some(Role::Analyst)).unwrap(), 1);
}

pub fn imported_tokens_are_idempotent(store: Arc<dyn Store>) {
    let first = store
        .import_token("bootstrap", Role::Admin, None, "operator-secret-1")
        .unwrap();
    let again = store
        .import_token("renamed", Role::Peer, Some("x"), "operator-secret-1")
        .unwrap();
    assert_eq!(
        first, again,
        "importing a known secret must return the existing token"
    );
    assert_eq!(store.list_tokens().unwrap().len(), 1);
    assert_eq!(
        store.verify_token("operator-secret-1").unwrap(),
        Some(first.clone())
    );

    store.revoke_token(&first.id).unwrap();
    let after_revoke = store
        .import_token("bootstrap", Role::Admin, None, "operator-secret-1")
        .unwrap();
    assert!(
        after_revoke.revoked,
        "a revoked secret must not come back by import"
    );
    assert_eq!(store.verify_token("operator-secret-1").unwrap(), None);

    let other = store
        .import_token("bootstrap", Role::Admin, None, "operator-secret-2")
        .unwrap();
    assert_ne!(other.id, first.id);
}

pub fn token_arguments_are_checked(store: Arc<dyn Store>) {
    let invalid = |r: Result<_, StoreError>| matches!(r, Err(StoreError::InvalidInput { .. }));
    assert!(invalid(
        store.create_token("", Role::Admin, None).map(|_| ())
    ));
    assert!(invalid(
        store.create_token("x\n", Role::Admin, None).map(|_| ())
    ));
    assert!(invalid(
        store.create_token("x", Role::Admin, Some(" ")).map(|_| ())
    ));
    assert!(invalid(
        store.import_token("x", Role::Admin, None, "").map(|_| ())
    ));
    let long = "s".repeat(crate::MAX_SECRET_LEN + 1);
    assert!(invalid(
        store
            .import_token("x", Role::Admin, None, &long)
            .map(|_| ())
    ));
    assert_eq!(store.verify_token(&long).unwrap(), None);
    assert_eq!(store.count_tokens(None).unwrap(), 0);
}

pub fn alerts_round_trip_and_inserts_are_idempotent(store: Arc<dyn Store>) {
    let mut a = sample_alert(
        1,
        at(10),
        Level::High,
        "r1",
        AlertKind::Sigma,
        Some("ee-cert"),
    );
    a.created += Duration::nanoseconds(123_456_789);
    let b = sample_alert(2, at(11), Level::Low, "r2", AlertKind::Intel, None);
    assert_eq!(store.insert_alerts(&[a.clone(), b.clone()]).unwrap(), 2);
    assert_eq!(store.insert_alerts(&[a.clone(), b.clone()]).unwrap(), 0);
    let c = sample_alert(3, at(12), Level::Critical, "r1", AlertKind::Sigma, None);
    assert_eq!(
        store
            .insert_alerts(&[c.clone(), c.clone(), a.clone()])
            .unwrap(),
        1
    );
    assert_eq!(store.insert_alerts(&[]).unwrap(), 0);
    assert_eq!(store.count_alerts().unwrap(), 3);

    assert_eq!(
        store.get_alert(&Uuid::from_u128(1)).unwrap(),
        Some(a.clone())
    );
    assert_eq!(store.get_alert(&Uuid::from_u128(3)).unwrap(), Some(c));
    assert_eq!(store.get_alert(&Uuid::from_u128(99)).unwrap(), None);

    // An id written in another UUID form is the same alert.
    let mut upper = sample_alert(4, at(13), Level::Low, "r3", AlertKind::Sigma, None);
    upper.id = upper.id.to_uppercase();
    assert_eq!(store.insert_alerts(&[upper.clone()]).unwrap(), 1);
    assert_eq!(store.get_alert(&Uuid::from_u128(4)).unwrap(), Some(upper));

    let mut bad = sample_alert(5, at(14), Level::Low, "r3", AlertKind::Sigma, None);
    bad.id = String::new();
    let err = store.insert_alerts(&[
        sample_alert(6, at(15), Level::Low, "r", AlertKind::Sigma, None),
        bad,
    ]);
    assert!(matches!(err, Err(StoreError::InvalidInput { .. })));
    assert_eq!(
        store.count_alerts().unwrap(),
        4,
        "a rejected batch must insert nothing"
    );
}

pub fn alert_counts_follow_inserts(store: Arc<dyn Store>) {
    let empty = store.alert_counts_by_level().unwrap();
    assert_eq!(
        empty,
        Level::ALL.iter().map(|&l| (l, 0)).collect::<Vec<_>>()
    );
    let levels = [
        Level::High,
        Level::High,
        Level::Low,
        Level::Critical,
        Level::High,
    ];
    let alerts: Vec<Alert> = levels
        .iter()
        .enumerate()
        .map(|(i, &l)| sample_alert(i as u128 + 1, at(i as i64), l, "r", AlertKind::Sigma, None))
        .collect();
    store.insert_alerts(&alerts).unwrap();
    store.insert_alerts(&alerts[..2]).unwrap();
    let counts = store.alert_counts_by_level().unwrap();
    assert_eq!(
        counts,
        vec![
            (Level::Informational, 0),
            (Level::Low, 1),
            (Level::Medium, 0),
            (Level::High, 3),
            (Level::Critical, 1)
        ]
    );
    assert_eq!(store.count_alerts().unwrap(), 5);
}

pub fn alert_filters_select_the_right_alerts(store: Arc<dyn Store>) {
    let alerts = vec![
        sample_alert(1, at(0), Level::Low, "r1", AlertKind::Sigma, Some("ee")),
        sample_alert(2, at(10), Level::Medium, "r2", AlertKind::Intel, Some("lv")),
        sample_alert(3, at(20), Level::High, "r1", AlertKind::Sigma, None),
        sample_alert(
            4,
            at(30),
            Level::Critical,
            "r3",
            AlertKind::Correlation,
            Some("ee"),
        ),
        sample_alert(
            5,
            at(40),
            Level::Informational,
            "r1",
            AlertKind::Incident,
            Some("ee"),
        ),
    ];
    store.insert_alerts(&alerts).unwrap();
    let id = |n: u128| Uuid::from_u128(n).to_string();
    let run = |q: AlertQuery| ids(&store.query_alerts(&q).unwrap().alerts);
    let all = AlertQuery::default();
    assert_eq!(run(all.clone()), vec![id(5), id(4), id(3), id(2), id(1)]);
    assert_eq!(
        run(AlertQuery {
            since: Some(at(10)),
            until: Some(at(30)),
            ..all.clone()
        }),
        vec![id(3), id(2)],
        "since is inclusive, until exclusive"
    );
    assert_eq!(
        run(AlertQuery {
            min_level: Some(Level::High),
            ..all.clone()
        }),
        vec![id(4), id(3)]
    );
    assert_eq!(
        run(AlertQuery {
            rule_id: Some("r1".into()),
            ..all.clone()
        }),
        vec![id(5), id(3), id(1)]
    );
    assert_eq!(
        run(AlertQuery {
            kind: Some(AlertKind::Intel),
            ..all.clone()
        }),
        vec![id(2)]
    );
    assert_eq!(
        run(AlertQuery {
            org: Some("ee".into()),
            ..all.clone()
        }),
        vec![id(5), id(4), id(1)]
    );
    assert_eq!(
        run(AlertQuery {
            org: Some("ee".into()),
            rule_id: Some("r1".into()),
            min_level: Some(Level::Low),
            ..all.clone()
        }),
        vec![id(1)]
    );
    assert!(
        run(AlertQuery {
            org: Some("nobody".into()),
            ..all
        })
        .is_empty()
    );
}

pub fn pagination_visits_every_alert_once_in_order(store: Arc<dyn Store>) {
    // 250 alerts, many sharing a creation time, so the id must break ties.
    let alerts: Vec<Alert> = (1..=250u128)
        .map(|n| {
            let level = Level::ALL[(n % 5) as usize];
            sample_alert(
                n * 7919 % 1000,
                at((n / 4) as i64),
                level,
                "r",
                AlertKind::Sigma,
                None,
            )
        })
        .collect();
    store.insert_alerts(&alerts).unwrap();
    let mut expected = alerts.clone();
    expected.sort_by(|a, b| (b.created, &b.id).cmp(&(a.created, &a.id)));
    for limit in [1, 7, 100, 250, 1000] {
        let seen = collect_pages(
            &*store,
            AlertQuery {
                limit,
                ..AlertQuery::default()
            },
        );
        assert_eq!(ids(&seen), ids(&expected), "limit {limit}");
    }
    // Filters hold across pages.
    let high = collect_pages(
        &*store,
        AlertQuery {
            limit: 9,
            min_level: Some(Level::High),
            ..AlertQuery::default()
        },
    );
    let want: Vec<String> = expected
        .iter()
        .filter(|a| a.rule.level >= Level::High)
        .map(|a| a.id.clone())
        .collect();
    assert_eq!(ids(&high), want);
}

pub fn pagination_is_stable_under_concurrent_inserts(store: Arc<dyn Store>) {
    let before: Vec<Alert> = (0..600u128)
        .map(|n| sample_alert(n, at(n as i64), Level::Medium, "r", AlertKind::Sigma, None))
        .collect();
    store.insert_alerts(&before).unwrap();
    let writer = {
        let store = store.clone();
        thread::spawn(move || {
            for batch in 0..60u128 {
                // Newer alerts, and older ones with times between existing ones.
                let newer: Vec<Alert> = (0..10u128)
                    .map(|i| {
                        let n = 10_000 + batch * 10 + i;
                        sample_alert(
                            n,
                            at(1_000 + n as i64),
                            Level::High,
                            "r",
                            AlertKind::Sigma,
                            None,
                        )
                    })
                    .chain((0..5u128).map(|i| {
                        let n = 20_000 + batch * 5 + i;
                        let mut a = sample_alert(
                            n,
                            at((batch * 10) as i64),
                            Level::Low,
                            "r",
                            AlertKind::Sigma,
                            None,
                        );
                        a.created += Duration::milliseconds(500);
                        a
                    }))
                    .collect();
                store.insert_alerts(&newer).unwrap();
                thread::yield_now();
            }
        })
    };
    let seen = collect_pages(
        &*store,
        AlertQuery {
            limit: 13,
            ..AlertQuery::default()
        },
    );
    writer.join().unwrap();

    let keys: Vec<(i64, String)> = seen
        .iter()
        .map(|a| (a.created.timestamp_micros(), a.id.clone()))
        .collect();
    assert!(
        keys.windows(2).all(|w| w[0] > w[1]),
        "pages must be strictly newest first"
    );
    let unique: HashSet<&String> = seen.iter().map(|a| &a.id).collect();
    assert_eq!(unique.len(), seen.len(), "an alert was returned twice");
    for a in &before {
        assert!(
            unique.contains(&a.id),
            "alert {} present at the start was skipped",
            a.id
        );
    }
}

pub fn page_size_is_capped(store: Arc<dyn Store>) {
    let alerts: Vec<Alert> = (0..(MAX_PAGE as u128 + 5))
        .map(|n| sample_alert(n, at(n as i64), Level::Low, "r", AlertKind::Sigma, None))
        .collect();
    assert_eq!(store.insert_alerts(&alerts).unwrap(), alerts.len());
    let page = store
        .query_alerts(&AlertQuery {
            limit: usize::MAX,
            ..AlertQuery::default()
        })
        .unwrap();
    assert_eq!(page.alerts.len(), MAX_PAGE);
    let rest = store
        .query_alerts(&AlertQuery {
            limit: usize::MAX,
            cursor: page.next_cursor,
            ..AlertQuery::default()
        })
        .unwrap();
    assert_eq!(rest.alerts.len(), 5);
    assert_eq!(rest.next_cursor, None);
    let one = store
        .query_alerts(&AlertQuery {
            limit: 0,
            ..AlertQuery::default()
        })
        .unwrap();
    assert_eq!(one.alerts.len(), 1);
}

pub fn malformed_cursors_are_rejected(store: Arc<dyn Store>) {
    store
        .insert_alerts(&[sample_alert(
            1,
            at(0),
            Level::Low,
            "r",
            AlertKind::Sigma,
            None,
        )])
        .unwrap();
    for cursor in ["", "%%%", "bm90LWEta2V5", "MTIzOg", "eHl6OmFiYw"] {
        let q = AlertQuery {
            cursor: Some(cursor.to_owned()),
            ..AlertQuery::default()
        };
        match store.query_alerts(&q) {
            Err(e @ StoreError::InvalidCursor(_)) => assert!(e.is_invalid_request()),
            other => panic!("cursor {cursor:?}: expected InvalidCursor, got {other:?}"),
        }
    }
}

pub fn ingest_counters_accumulate_per_input(store: Arc<dyn Store>) {
    assert_eq!(
        store.ingest_totals().unwrap(),
        crate::IngestTotals::default()
    );
    let start = Utc::now() - Duration::seconds(1);
    store.add_ingest("http", 100, 2, 51_200).unwrap();
    store.add_ingest("syslog-udp", 10, 0, 2_000).unwrap();
    store.add_ingest("http", 50, 1, 25_600).unwrap();
    assert!(matches!(
        store.add_ingest("", 1, 0, 1),
        Err(StoreError::InvalidInput { .. })
    ));
    let totals = store.ingest_totals().unwrap();
    assert_eq!(
        (totals.events_ingested, totals.events_rejected, totals.bytes),
        (160, 3, 78_800)
    );
    let inputs: Vec<(&str, u64, u64, u64)> = totals
        .per_input
        .iter()
        .map(|p| {
            (
                p.input.as_str(),
                p.events_ingested,
                p.events_rejected,
                p.bytes,
            )
        })
        .collect();
    assert_eq!(
        inputs,
        vec![("http", 150, 3, 76_800), ("syslog-udp", 10, 0, 2_000)]
    );
    for p in &totals.per_input {
        let seen = p.last_seen.expect("last_seen set");
        assert!(seen >= start && seen <= Utc::now() + Duration::seconds(1));
    }
}

pub fn audit_entries_newest_first_with_since_and_limit(store: Arc<dyn Store>) {
    assert!(store.audit_entries(None, 10).unwrap().is_empty());
    let entry = |secs: i64, action: &str| AuditEntry {
        time: at(secs),
        actor: "ops".into(),
        action: action.into(),
        target: format!("t{secs}"),
        details: json!({"secs": secs, "nested": {"ok": true}}),
    };
    for (secs, action) in [
        (10, "token.create"),
        (20, "token.revoke"),
        (20, "rules.reload"),
        (30, "token.create"),
    ] {
        store.append_audit(&entry(secs, action)).unwrap();
    }
    let all = store.audit_entries(None, 100).unwrap();
    let order: Vec<(i64, &str)> = all
        .iter()
        .map(|e| (e.time.timestamp() - at(0).timestamp(), e.action.as_str()))
        .collect();
    assert_eq!(
        order,
        vec![
            (30, "token.create"),
            (20, "rules.reload"),
            (20, "token.revoke"),
            (10, "token.create")
        ]
    );
    assert_eq!(all[3], entry(10, "token.create"), "entries round-trip");
    assert_eq!(store.audit_entries(Some(at(20)), 100).unwrap().len(), 3);
    assert_eq!(store.audit_entries(None, 2).unwrap().len(), 2);
    assert_eq!(store.audit_entries(Some(at(31)), 100).unwrap().len(), 0);
    let mut bad = entry(40, "x");
    bad.actor.clear();
    assert!(matches!(
        store.append_audit(&bad),
        Err(StoreError::InvalidInput { .. })
    ));
}

pub fn state_values_persist_and_overwrite(store: Arc<dyn Store>) {
    assert_eq!(store.get_state("feed.added_after").unwrap(), None);
    store
        .set_state("feed.added_after", "2024-05-01T00:00:00Z")
        .unwrap();
    store.set_state("other", "").unwrap();
    assert_eq!(
        store.get_state("feed.added_after").unwrap().as_deref(),
        Some("2024-05-01T00:00:00Z")
    );
    store
        .set_state("feed.added_after", "2024-05-02T00:00:00Z")
        .unwrap();
    assert_eq!(
        store.get_state("feed.added_after").unwrap().as_deref(),
        Some("2024-05-02T00:00:00Z")
    );
    assert_eq!(store.get_state("other").unwrap().as_deref(), Some(""));
    assert!(matches!(
        store.set_state("", "v"),
        Err(StoreError::InvalidInput { .. })
    ));
    let huge = "v".repeat(crate::MAX_VALUE_LEN + 1);
    assert!(matches!(
        store.set_state("k", &huge),
        Err(StoreError::InvalidInput { .. })
    ));
}
