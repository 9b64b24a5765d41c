//! Observable extraction from the event layouts Shield ingests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use serde_json::{Value, json};
use shield_event::{Event, Format};
use shield_intel::ioc::IocKind;
use shield_intel::observe::{FieldRule, ObservableExtractor};

fn observables(extractor: &ObservableExtractor, data: Value) -> Vec<(IocKind, String, String)> {
    let e = Event::new(data, Arc::from("test"), Format::Json);
    let mut out: Vec<(IocKind, String, String)> = extractor
        .extract(&e)
        .into_iter()
        .map(|o| (o.kind, o.value.into_owned(), o.field.to_owned()))
        .collect();
    out.sort();
    out
}

fn o(kind: IocKind, value: &str, field: &str) -> (IocKind, String, String) {
    (kind, value.to_owned(), field.to_owned())
}

#[test]
fn sysmon_network_and_process_events_in_evtx_json() {
    let x = ObservableExtractor::default();
    let network = json!({"Event": {
        "System": {"EventID": 3, "Channel": "Microsoft-Windows-Sysmon/Operational"},
        "EventData": {
            "Image": "C:\\Users\\bob\\AppData\\Local\\Temp\\Invoice.exe",
            "SourceIp": "10.0.0.12",
            "SourceHostname": "-",
            "DestinationIp": "203.0.113.5",
            "DestinationHostname": "c2.evil.example",
            "DestinationPort": 443
        }
    }});
    assert_eq!(
        observables(&x, network),
        vec![
            o(IocKind::Ipv4, "10.0.0.12", "SourceIp"),
            o(IocKind::Ipv4, "203.0.113.5", "DestinationIp"),
            o(IocKind::Domain, "c2.evil.example", "DestinationHostname"),
            o(IocKind::FileName, "Invoice.exe", "Image"),
        ]
    );
    let process = json!({"Event": {
        "System": {"EventID": {"#text": 1, "#attributes": {"Qualifiers": 0}}},
        "EventData": {
            "Image": "C:\\Windows\\System32\\cmd.exe",
            "ParentImage": {"#text": "C:\\Windows\\explorer.exe"},
            "Hashes": "SHA1=DA39A3EE5E6B4B0D3255BFEF95601890AFD80709,MD5=D41D8CD98F00B204E9800998ECF8427E,SHA256=E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855,IMPHASH=00000000000000000000000000000000"
        }
    }});
    assert_eq!(
        observables(&x, process),
        vec![
            o(IocKind::Md5, "D41D8CD98F00B204E9800998ECF8427E", "Hashes"),
            o(
                IocKind::Sha1,
                "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709",
                "Hashes"
            ),
            o(
                IocKind::Sha256,
                "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
                "Hashes"
            ),
            o(IocKind::FileName, "cmd.exe", "Image"),
            o(IocKind::FileName, "explorer.exe", "ParentImage"),
        ]
    );
}

#[test]
fn sysmon_dns_query_and_security_logon() {
    let x = ObservableExtractor::default();
    let dns = json!({"System": {"EventID": 22}, "EventData": {
        "QueryName": "login.evil.example",
        "QueryResults": "type:  5 cdn.evil.example;::ffff:198.51.100.4;192.0.2.8;"
    }});
    assert_eq!(
        observables(&x, dns),
        vec![
            o(IocKind::Ipv4, "192.0.2.8", "QueryResults"),
            o(IocKind::Ipv4, "::ffff:198.51.100.4", "QueryResults"),
            o(IocKind::Domain, "login.evil.example", "QueryName"),
        ]
    );
    // Security 4625 as a list of named Data elements.
    let logon = json!({"Event": {"System": {"EventID": 4625}, "EventData": {"Data": [
        {"#attributes": {"Name": "TargetUserName"}, "#text": "administrator"},
        {"#attributes": {"Name": "WorkstationName"}, "#text": "KALI"},
        {"#attributes": {"Name": "IpAddress"}, "#text": "::ffff:203.0.113.50"},
        {"@Name": "IpPort", "#text": "51234"}
    ]}}});
    assert_eq!(
        observables(&x, logon),
        vec![o(IocKind::Ipv4, "::ffff:203.0.113.50", "IpAddress")]
    );
}

#[test]
fn winlogbeat_layout() {
    let x = ObservableExtractor::default();
    let e = json!({"winlog": {"event_id": 3, "event_data": {"DestinationIp": "2001:db8::9", "Image": "C:\\x\\rundll32.exe"}},
                   "host": {"name": "WS1", "ip": ["10.1.1.1", "fe80::1"]}});
    assert_eq!(
        observables(&x, e),
        vec![
            o(IocKind::Ipv4, "10.1.1.1", "host.ip"),
            o(IocKind::Ipv6, "2001:db8::9", "DestinationIp"),
            o(IocKind::Ipv6, "fe80::1", "host.ip"),
            o(IocKind::FileName, "rundll32.exe", "Image"),
        ]
    );
}

#[test]
fn ecs_nested_and_flattened() {
    let x = ObservableExtractor::default();
    let nested = json!({
        "source": {"ip": "10.0.0.1", "port": 5555},
        "destination": {"ip": "203.0.113.9", "domain": "evil.example"},
        "dns": {"question": {"name": "evil.example"}, "answers": [{"data": "203.0.113.9"}, {"data": "alias.evil.example"}]},
        "url": {"full": "https://evil.example/x", "original": "/x"},
        "process": {"executable": "/usr/bin/curl", "hash": {"sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}},
        "email": {"from": {"address": ["phish@evil.example"]}},
        "user_agent": {"original": "curl/8.0"}
    });
    assert_eq!(
        observables(&x, nested),
        vec![
            o(IocKind::Ipv4, "10.0.0.1", "source.ip"),
            o(IocKind::Ipv4, "203.0.113.9", "destination.ip"),
            o(IocKind::Ipv4, "203.0.113.9", "dns.answers.data"),
            o(IocKind::Domain, "alias.evil.example", "dns.answers.data"),
            o(IocKind::Domain, "evil.example", "destination.domain"),
            o(IocKind::Domain, "evil.example", "dns.question.name"),
            o(IocKind::Url, "https://evil.example/x", "url.full"),
            o(
                IocKind::Sha256,
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                "process.hash.sha256"
            ),
            o(IocKind::Email, "phish@evil.example", "email.from.address"),
            o(IocKind::FileName, "curl", "process.executable"),
            o(IocKind::UserAgent, "curl/8.0", "user_agent.original"),
        ]
    );
    let flat = json!({"source.ip": "10.0.0.1", "destination.ip": "203.0.113.9", "file.hash.md5": "d41d8cd98f00b204e9800998ecf8427e"});
    assert_eq!(
        observables(&x, flat),
        vec![
            o(IocKind::Ipv4, "10.0.0.1", "source.ip"),
            o(IocKind::Ipv4, "203.0.113.9", "destination.ip"),
            o(
                IocKind::Md5,
                "d41d8cd98f00b204e9800998ecf8427e",
                "file.hash.md5"
            ),
        ]
    );
}

#[test]
fn suricata_eve() {
    let x = ObservableExtractor::default();
    let dns = json!({"event_type": "dns", "src_ip": "10.0.0.3", "dest_ip": "10.0.0.53",
                     "dns": {"type": "query", "rrname": "evil.example", "rrtype": "A"}});
    assert_eq!(
        observables(&x, dns),
        vec![
            o(IocKind::Ipv4, "10.0.0.3", "src_ip"),
            o(IocKind::Ipv4, "10.0.0.53", "dest_ip"),
            o(IocKind::Domain, "evil.example", "dns.rrname"),
        ]
    );
    let tls = json!({"event_type": "tls", "src_ip": "2001:db8::1", "dest_ip": "2001:db8::2",
                     "tls": {"sni": "c2.evil.example", "version": "TLS 1.3"}});
    assert_eq!(
        observables(&x, tls),
        vec![
            o(IocKind::Ipv6, "2001:db8::1", "src_ip"),
            o(IocKind::Ipv6, "2001:db8::2", "dest_ip"),
            o(IocKind::Domain, "c2.evil.example", "tls.sni"),
        ]
    );
    let file = json!({"event_type": "fileinfo", "src_ip": "203.0.113.7", "dest_ip": "10.0.0.3",
                      "http": {"hostname": "dl.evil.example", "url": "/a.exe", "http_user_agent": "Wget/1.21"},
                      "fileinfo": {"filename": "/a.exe", "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "size": 0}});
    assert_eq!(
        observables(&x, file),
        vec![
            o(IocKind::Ipv4, "10.0.0.3", "dest_ip"),
            o(IocKind::Ipv4, "203.0.113.7", "src_ip"),
            o(IocKind::Domain, "dl.evil.example", "http.hostname"),
            o(
                IocKind::Sha256,
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                "fileinfo.sha256"
            ),
            o(IocKind::FileName, "a.exe", "fileinfo.filename"),
            o(IocKind::UserAgent, "Wget/1.21", "http.http_user_agent"),
        ]
    );
}

#[test]
fn zeek_logs() {
    let x = ObservableExtractor::default();
    let dns = json!({"ts": 1.7e9, "uid": "C1", "id.orig_h": "10.0.0.3", "id.orig_p": 5353, "id.resp_h": "10.0.0.53",
                     "query": "evil.example", "answers": ["203.0.113.9", "cname.evil.example"]});
    assert_eq!(
        observables(&x, dns),
        vec![
            o(IocKind::Ipv4, "10.0.0.3", "id.orig_h"),
            o(IocKind::Ipv4, "10.0.0.53", "id.resp_h"),
            o(IocKind::Ipv4, "203.0.113.9", "answers"),
            o(IocKind::Domain, "cname.evil.example", "answers"),
            o(IocKind::Domain, "evil.example", "query"),
        ]
    );
    // Zeek's nested form (`id` as an object) resolves the same way.
    let http = json!({"id": {"orig_h": "10.0.0.3", "resp_h": "198.51.100.1"}, "host": "www.evil.example", "uri": "/x"});
    assert_eq!(
        observables(&x, http),
        vec![
            o(IocKind::Ipv4, "10.0.0.3", "id.orig_h"),
            o(IocKind::Ipv4, "198.51.100.1", "id.resp_h"),
            o(IocKind::Domain, "www.evil.example", "host"),
        ]
    );
}

#[test]
fn cef_and_syslog() {
    let x = ObservableExtractor::default();
    let cef = json!({"cef_version": 0, "device_vendor": "Vendor", "src": "10.0.0.8", "dst": "203.0.113.80",
                     "dhost": "evil.example", "request": "http://evil.example/p", "fileHash": "D41D8CD98F00B204E9800998ECF8427E",
                     "msg": "blocked 203.0.113.80"});
    assert_eq!(
        observables(&x, cef),
        vec![
            o(IocKind::Ipv4, "10.0.0.8", "src"),
            o(IocKind::Ipv4, "203.0.113.80", "dst"),
            o(IocKind::Ipv4, "203.0.113.80", "msg"),
            o(IocKind::Domain, "evil.example", "dhost"),
            o(IocKind::Url, "http://evil.example/p", "request"),
            o(IocKind::Md5, "d41d8cd98f00b204e9800998ecf8427e", "fileHash"),
        ]
    );
    let under_extensions = json!({"extensions": {"src": "10.0.0.9"}});
    assert_eq!(
        observables(&x, under_extensions),
        vec![o(IocKind::Ipv4, "10.0.0.9", "src")]
    );
    let syslog = json!({"hostname": "gw", "message": "sshd[12]: Failed password for root from 203.0.113.66 port 4242 ssh2"});
    assert_eq!(
        observables(&x, syslog),
        vec![o(IocKind::Ipv4, "203.0.113.66", "message")]
    );
}

#[test]
fn extra_field_mapping() {
    let x = ObservableExtractor::empty()
        .with_field("custom.c2", FieldRule::Kind(IocKind::Domain))
        .with_field("custom.anything", FieldRule::Detect);
    let e = json!({"custom": {"c2": "evil.example", "anything": "hxxp://evil[.]example/x"}, "source": {"ip": "10.0.0.1"}});
    assert_eq!(
        observables(&x, e),
        vec![
            o(IocKind::Domain, "evil.example", "custom.c2"),
            o(IocKind::Url, "http://evil.example/x", "custom.anything"),
        ]
    );
}

#[test]
fn implausible_values_are_not_observables() {
    let x = ObservableExtractor::default();
    let e = json!({"source": {"ip": "unknown", "domain": "WORKSTATION"}, "file": {"hash": {"md5": "not-a-hash"}},
                   "dns": {"question": {"name": "1.2.3"}}, "query": "SELECT * FROM t"});
    assert_eq!(observables(&x, e), vec![]);
}

#[test]
fn observables_per_event_are_bounded() {
    let x = ObservableExtractor::default();
    let many: Vec<String> = (0..2000)
        .map(|i| format!("10.0.{}.{}", i / 250, i % 250))
        .collect();
    let e = json!({"related": {"ip": many}});
    assert_eq!(
        observables(&x, e).len(),
        shield_intel::observe::MAX_OBSERVABLES
    );
}

#[test]
fn sigma_regression_sysmon_event_from_shared_data() {
    let Some(dir) = std::env::var_os("SHIELD_SHARED_DATA") else {
        eprintln!("skipping: SHIELD_SHARED_DATA not set");
        return;
    };
    let path = std::path::Path::new(&dir).join(
        "sigma/regression_data/rules/windows/process_creation/proc_creation_win_curl_custom_user_agent/85de1f22-d189-44e4-8239-dc276b45379b.json",
    );
    let text = std::fs::read_to_string(&path).expect("sigma regression data is missing");
    let data: Value = serde_json::from_str(&text).unwrap();
    let found = observables(&ObservableExtractor::default(), data);
    assert!(
        found.contains(&o(
            IocKind::Md5,
            "DBB2D090D2098B2B995FA067FDEF839F",
            "Hashes"
        )),
        "{found:?}"
    );
    assert!(found.contains(&o(
        IocKind::Sha256,
        "8955D2A45404A59C2E3772F3C76AEEAE48AEDF100BE328C003D7A4DF5342B491",
        "Hashes"
    )));
    assert!(found.contains(&o(IocKind::FileName, "curl.exe", "Image")));
    assert!(found.contains(&o(IocKind::FileName, "curl.exe", "OriginalFileName")));
    assert!(found.contains(&o(IocKind::FileName, "cmd.exe", "ParentImage")));
    // IMPHASH is an import-table hash, not a file hash.
    assert!(
        !found
            .iter()
            .any(|(_, v, _)| v == "213443B550A6683661EB0CF00CF04681")
    );
}
