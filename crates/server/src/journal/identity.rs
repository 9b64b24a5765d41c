//! Alert identities that do not change when a frame is processed again.
//!
//! After a crash, frames past the recorded watermark are detected again, some of which had already
//! been written. Their alerts must come out with the ids (and times) they had the first time, so
//! that storing them again changes nothing: the store ignores an alert whose id it holds, and a
//! sighting derived from an alert has an id and version derived from the alert's.
//!
//! An alert's identity is (frame position, detector kind, rule id, n-th alert of that rule in the
//! frame, frame time). The frame time is the latest receive time of its events, which are stored in
//! the frame, so replay sees the same one. The id keeps the UUIDv7 layout (48-bit millisecond time
//! first, so ids still sort by time) with the remaining bits from a UUIDv5 hash of the identity.
//! Counting per rule rather than per alert makes an id independent of other rules: a rule added or
//! removed between the crash and the restart does not shift the ids of the others.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use shield_event::{Alert, Event};
use shield_store::archive::FramePosition;
use uuid::Uuid;

/// Namespace of alert identities (UUIDv5 of `shield:alert`).
fn namespace() -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, b"shield:alert")
}

/// The frame's time: the latest receive time of its events.
pub fn frame_time(events: &[Event]) -> DateTime<Utc> {
    events
        .iter()
        .map(|e| e.meta.received)
        .max()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// Gives the alerts raised on the frame at `position` their stable ids, and the frame's time as
/// their creation time.
pub fn identify_alerts(alerts: &mut [Alert], position: FramePosition, events: &[Event]) {
    if alerts.is_empty() {
        return;
    }
    let time = frame_time(events);
    let namespace = namespace();
    let mut per_rule: HashMap<(&'static str, String), u32> = HashMap::new();
    for alert in alerts.iter_mut() {
        let n = per_rule
            .entry((alert.kind.as_str(), alert.rule.id.clone()))
            .or_insert(0);
        let name = format!(
            "{position}/{}/{}/{n}/{}",
            alert.kind.as_str(),
            alert.rule.id,
            time.timestamp_micros()
        );
        *n += 1;
        alert.id = stable_v7(&namespace, &name, time).to_string();
        alert.created = time;
    }
}

/// A UUIDv7-shaped id: the millisecond time of `time`, then hash bits of `name`.
fn stable_v7(namespace: &Uuid, name: &str, time: DateTime<Utc>) -> Uuid {
    let mut bytes = *Uuid::new_v5(namespace, name.as_bytes()).as_bytes();
    let millis = u64::try_from(time.timestamp_millis()).unwrap_or(0);
    bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    bytes[6] = 0x70 | (bytes[6] & 0x0f);
    bytes[8] = 0x80 | (bytes[8] & 0x3f);
    Uuid::from_bytes(bytes)
}

/// The id of the sighting derived from the alert `alert_id`, the same every time.
pub fn sighting_id(alert_id: &str) -> String {
    format!(
        "sighting--{}",
        Uuid::new_v5(&namespace(), format!("sighting/{alert_id}").as_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use shield_event::{AlertKind, Format, Level, RuleRef};

    fn alert(rule: &str, event: &Event) -> Alert {
        let rule = RuleRef {
            id: rule.into(),
            title: rule.into(),
            level: Level::High,
            tags: vec![],
        };
        Alert::for_event(AlertKind::Sigma, rule, event)
    }

    fn position(offset: u64) -> FramePosition {
        FramePosition { segment: 3, offset }
    }

    #[test]
    fn the_same_frame_gives_the_same_ids_and_times() {
        let events = vec![
            Event::new(json!({"a": 1}), "http".into(), Format::Json),
            Event::new(json!({"a": 2}), "http".into(), Format::Json),
        ];
        let make = || {
            let mut a = vec![
                alert("r1", &events[0]),
                alert("r2", &events[0]),
                alert("r1", &events[1]),
            ];
            identify_alerts(&mut a, position(16), &events);
            a
        };
        let (first, second) = (make(), make());
        let ids: Vec<_> = first.iter().map(|a| a.id.clone()).collect();
        assert_eq!(ids, second.iter().map(|a| a.id.clone()).collect::<Vec<_>>());
        assert_eq!(first[0].created, second[0].created);
        assert_eq!(first[0].created, frame_time(&events));
        let unique: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), 3, "two alerts of one rule in a frame differ");
        let uuid = Uuid::parse_str(&ids[0]).unwrap();
        assert_eq!(uuid.get_version_num(), 7);
        let (secs, _) = uuid.get_timestamp().unwrap().to_unix();
        assert_eq!(secs as i64, frame_time(&events).timestamp());

        // Another rule's alert in between does not move r1's ids.
        let mut fewer = vec![alert("r1", &events[0]), alert("r1", &events[1])];
        identify_alerts(&mut fewer, position(16), &events);
        assert_eq!(fewer[0].id, first[0].id);
        assert_eq!(fewer[1].id, first[2].id);

        // Another frame gives other ids.
        let mut other = vec![alert("r1", &events[0])];
        identify_alerts(&mut other, position(17), &events);
        assert_ne!(other[0].id, first[0].id);
        assert_ne!(sighting_id(&first[0].id), sighting_id(&first[1].id));
        assert!(sighting_id(&first[0].id).starts_with("sighting--"));
    }
}
