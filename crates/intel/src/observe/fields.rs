//! The default field mapping: which fields of which layouts hold which observables.
//!
//! | layout | fields |
//! |---|---|
//! | ECS (Elastic Beats, Vector, …) | `source.ip`, `destination.ip`, `client.ip`, `server.ip`, `host.ip`, `related.ip`, `*.address`, `*.domain`, `dns.question.name`, `dns.answers.data`, `url.full`, `url.original`, `url.domain`, `tls.client.server_name`, `user_agent.original`, `file.hash.*`, `process.hash.*`, `process.parent.hash.*`, `dll.hash.*`, `file.name`, `file.path`, `process.executable`, `email.*.address`, `message` (addresses in text) |
//! | Windows / Sysmon (EVTX JSON with or without the `Event` wrapper, `EventData.Data` lists, Winlogbeat's `winlog.event_data`) | `DestinationIp`, `SourceIp`, `IpAddress`, `ClientAddress`, `SourceAddress`, `DestAddress`, `DestinationHostname`, `SourceHostname`, `QueryName`, `QueryResults`, `WorkstationName`, `Hashes`, `Hash`, `Image`, `ParentImage`, `TargetFilename`, `ImageLoaded`, `NewProcessName`, `OriginalFileName`, … |
//! | Suricata EVE | `src_ip`, `dest_ip`, `dns.rrname`, `dns.queries.rrname`, `dns.answers.rdata`, `http.hostname`, `http.http_user_agent`, `tls.sni`, `fileinfo.md5/sha1/sha256`, `fileinfo.filename`, `smtp.mail_from`, `smtp.rcpt_to` |
//! | Zeek JSON | `id.orig_h`, `id.resp_h`, `query`, `answers`, `host`, `server_name`, `user_agent`, `referrer`, `md5`, `sha1`, `sha256`, `filename`, `tx_hosts`, `rx_hosts`, `mailfrom`, `rcptto` |
//! | CEF (extension keys at the top level or under `extensions`/`cef.extensions`) | `src`, `dst`, `c6a2`, `c6a3`, `sourceTranslatedAddress`, `destinationTranslatedAddress`, `shost`, `dhost`, `request`, `requestClientApplication`, `fileHash`, `oldFileHash`, `fname`, `filePath`, `msg` |
//! | syslog | `message`, `msg`: addresses in the text |
//!
//! Windows fields are reported under their bare names (`DestinationIp`), other fields under their
//! path.

use super::{FieldRule, ObservableExtractor};
use crate::ioc::IocKind;

use FieldRule::{Address, Detect, FileHashes, FilePath, HostOrAddress, Kind, ScanText};

/// ECS paths.
const ECS: &[(&str, FieldRule)] = &[
    ("source.ip", Address),
    ("destination.ip", Address),
    ("client.ip", Address),
    ("server.ip", Address),
    ("host.ip", Address),
    ("related.ip", Address),
    ("source.nat.ip", Address),
    ("destination.nat.ip", Address),
    ("dns.resolved_ip", Address),
    ("source.address", HostOrAddress),
    ("destination.address", HostOrAddress),
    ("client.address", HostOrAddress),
    ("server.address", HostOrAddress),
    ("source.domain", HostOrAddress),
    ("destination.domain", HostOrAddress),
    ("client.domain", HostOrAddress),
    ("server.domain", HostOrAddress),
    ("related.hosts", HostOrAddress),
    ("url.domain", HostOrAddress),
    ("dns.question.name", HostOrAddress),
    ("tls.client.server_name", HostOrAddress),
    ("dns.answers.data", Detect),
    ("url.full", Kind(IocKind::Url)),
    ("url.original", Kind(IocKind::Url)),
    ("http.request.referrer", Kind(IocKind::Url)),
    ("user_agent.original", Kind(IocKind::UserAgent)),
    ("file.hash.md5", Kind(IocKind::Md5)),
    ("file.hash.sha1", Kind(IocKind::Sha1)),
    ("file.hash.sha256", Kind(IocKind::Sha256)),
    ("file.hash.sha512", Kind(IocKind::Sha512)),
    ("process.hash.md5", Kind(IocKind::Md5)),
    ("process.hash.sha1", Kind(IocKind::Sha1)),
    ("process.hash.sha256", Kind(IocKind::Sha256)),
    ("process.hash.sha512", Kind(IocKind::Sha512)),
    ("process.parent.hash.md5", Kind(IocKind::Md5)),
    ("process.parent.hash.sha1", Kind(IocKind::Sha1)),
    ("process.parent.hash.sha256", Kind(IocKind::Sha256)),
    ("dll.hash.md5", Kind(IocKind::Md5)),
    ("dll.hash.sha1", Kind(IocKind::Sha1)),
    ("dll.hash.sha256", Kind(IocKind::Sha256)),
    ("email.attachments.file.hash.md5", Kind(IocKind::Md5)),
    ("email.attachments.file.hash.sha1", Kind(IocKind::Sha1)),
    ("email.attachments.file.hash.sha256", Kind(IocKind::Sha256)),
    ("file.name", Kind(IocKind::FileName)),
    ("file.path", FilePath),
    ("process.name", Kind(IocKind::FileName)),
    ("process.executable", FilePath),
    ("process.parent.executable", FilePath),
    ("dll.path", FilePath),
    ("email.from.address", Kind(IocKind::Email)),
    ("email.sender.address", Kind(IocKind::Email)),
    ("email.reply_to.address", Kind(IocKind::Email)),
    ("email.to.address", Kind(IocKind::Email)),
    ("email.cc.address", Kind(IocKind::Email)),
    ("message", ScanText),
];

/// Windows event data names (Security, Sysmon, firewall, DNS client).
const WINDOWS: &[(&str, FieldRule)] = &[
    ("DestinationIp", Address),
    ("SourceIp", Address),
    ("IpAddress", Address),
    ("ClientAddress", Address),
    ("ClientIPAddress", Address),
    ("SourceAddress", Address),
    ("DestAddress", Address),
    ("DestinationAddress", Address),
    ("DestinationHostname", HostOrAddress),
    ("SourceHostname", HostOrAddress),
    ("QueryName", HostOrAddress),
    ("WorkstationName", HostOrAddress),
    ("TargetServerName", HostOrAddress),
    ("QueryResults", ScanText),
    ("Hashes", FileHashes),
    ("Hash", FileHashes),
    ("Image", FilePath),
    ("ParentImage", FilePath),
    ("SourceImage", FilePath),
    ("TargetImage", FilePath),
    ("ImageLoaded", FilePath),
    ("TargetFilename", FilePath),
    ("NewProcessName", FilePath),
    ("ParentProcessName", FilePath),
    ("ProcessName", FilePath),
    ("Application", FilePath),
    ("OriginalFileName", Kind(IocKind::FileName)),
];

/// Where converters put Windows event data; the first two may hold a `Data` list.
const WINDOWS_PREFIXES: [&str; 4] = [
    "Event.EventData",
    "EventData",
    "winlog.event_data",
    "event_data",
];

/// Suricata EVE paths.
const EVE: &[(&str, FieldRule)] = &[
    ("src_ip", Address),
    ("dest_ip", Address),
    ("dns.rrname", HostOrAddress),
    ("dns.queries.rrname", HostOrAddress),
    ("dns.answers.rrname", HostOrAddress),
    ("dns.answers.rdata", Detect),
    ("dns.rdata", Detect),
    ("http.hostname", HostOrAddress),
    ("http.http_user_agent", Kind(IocKind::UserAgent)),
    ("http.http_refer", Kind(IocKind::Url)),
    ("tls.sni", HostOrAddress),
    ("fileinfo.md5", Kind(IocKind::Md5)),
    ("fileinfo.sha1", Kind(IocKind::Sha1)),
    ("fileinfo.sha256", Kind(IocKind::Sha256)),
    ("fileinfo.filename", FilePath),
    ("smtp.mail_from", Kind(IocKind::Email)),
    ("smtp.rcpt_to", Kind(IocKind::Email)),
    ("email.from", Kind(IocKind::Email)),
    ("email.to", Kind(IocKind::Email)),
];

/// Zeek JSON log fields.
const ZEEK: &[(&str, FieldRule)] = &[
    ("id.orig_h", Address),
    ("id.resp_h", Address),
    ("tx_hosts", Address),
    ("rx_hosts", Address),
    ("query", HostOrAddress),
    ("answers", Detect),
    ("host", HostOrAddress),
    ("server_name", HostOrAddress),
    ("user_agent", Kind(IocKind::UserAgent)),
    ("referrer", Kind(IocKind::Url)),
    ("md5", Kind(IocKind::Md5)),
    ("sha1", Kind(IocKind::Sha1)),
    ("sha256", Kind(IocKind::Sha256)),
    ("filename", FilePath),
    ("mailfrom", Kind(IocKind::Email)),
    ("rcptto", Kind(IocKind::Email)),
];

/// CEF extension keys.
const CEF: &[(&str, FieldRule)] = &[
    ("src", Address),
    ("dst", Address),
    ("c6a2", Address),
    ("c6a3", Address),
    ("sourceTranslatedAddress", Address),
    ("destinationTranslatedAddress", Address),
    ("shost", HostOrAddress),
    ("dhost", HostOrAddress),
    ("request", Kind(IocKind::Url)),
    ("requestClientApplication", Kind(IocKind::UserAgent)),
    ("fileHash", Detect),
    ("oldFileHash", Detect),
    ("fname", FilePath),
    ("filePath", FilePath),
    ("msg", ScanText),
];

/// Where CEF parsers put extension keys besides the top level.
const CEF_PREFIXES: [&str; 3] = ["extensions", "cef.extensions", "cef.extension"];

/// Adds the default mapping (the module docs' table) to an extractor.
pub fn add_defaults(extractor: &mut ObservableExtractor) {
    for table in [ECS, EVE, ZEEK, CEF] {
        for &(path, rule) in table {
            extractor.add(path, path, rule);
        }
    }
    for prefix in CEF_PREFIXES {
        for &(key, rule) in CEF {
            extractor.add(&format!("{prefix}.{key}"), key, rule);
        }
    }
    for prefix in WINDOWS_PREFIXES {
        for &(name, rule) in WINDOWS {
            extractor.add(&format!("{prefix}.{name}"), name, rule);
        }
    }
    extractor.mark_named_data("Event.EventData");
    extractor.mark_named_data("EventData");
}
