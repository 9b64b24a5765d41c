//! A compact side table of indicator metadata, indexed by [`IndicatorRef`].
//!
//! One row is 40 bytes plus the name's bytes: a STIX id of the usual `indicator--<uuid>` form is
//! kept as its 16 UUID bytes (other ids go to the text arena), markings are interned (a feed uses a
//! handful of marking-definition ids), and `valid_until` is seconds since the epoch.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap;
use uuid::Uuid;

use super::{IndicatorRef, MatcherError};

const INDICATOR_PREFIX: &str = "indicator--";
const NO_TIME: i64 = i64::MAX;
const NO_CONFIDENCE: u8 = u8::MAX;
const MAX_TEXT: usize = u16::MAX as usize;

/// Metadata of one indicator, as given to [`IndicatorTable::push`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndicatorRecord {
    /// The STIX id (`indicator--…`) or any other identifier.
    pub id: String,
    /// A display name.
    pub name: Option<String>,
    /// The marking-definition id that governs it (its TLP marking).
    pub marking: Option<String>,
    /// When the indicator stops being valid.
    pub valid_until: Option<DateTime<Utc>>,
    /// STIX confidence, 0–100.
    pub confidence: Option<u8>,
}

/// Metadata of one indicator, borrowed from an [`IndicatorTable`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndicatorInfo<'a> {
    /// The identifier.
    pub id: Cow<'a, str>,
    /// The display name.
    pub name: Option<&'a str>,
    /// The marking-definition id.
    pub marking: Option<&'a str>,
    /// When the indicator stops being valid.
    pub valid_until: Option<DateTime<Utc>>,
    /// STIX confidence, 0–100.
    pub confidence: Option<u8>,
}

impl IndicatorInfo<'_> {
    /// Whether the indicator is still valid at `now`.
    pub fn is_valid_at(&self, now: DateTime<Utc>) -> bool {
        self.valid_until.is_none_or(|until| now < until)
    }
}

#[derive(Debug, Clone)]
struct Row {
    uuid: [u8; 16],
    valid_until: i64,
    text_start: u32,
    /// Length of a non-UUID id in the arena (0: the id is `indicator--<uuid>`).
    id_len: u16,
    /// Length of the name in the arena, after the id; `u16::MAX`: no name.
    name_len: u16,
    /// 1-based index into `markings`; 0: none.
    marking: u16,
    confidence: u8,
}

/// The side table (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct IndicatorTable {
    rows: Vec<Row>,
    text: String,
    markings: Vec<Box<str>>,
    marking_ids: FxHashMap<Box<str>, u16>,
}

impl IndicatorTable {
    /// An empty table.
    pub fn new() -> Self {
        IndicatorTable::default()
    }

    /// Appends an indicator and answers its reference. Names are cut at 65,534 bytes.
    pub fn push(&mut self, record: &IndicatorRecord) -> Result<IndicatorRef, MatcherError> {
        let reference = u32::try_from(self.rows.len()).map_err(|_| MatcherError::Full)?;
        let text_start = u32::try_from(self.text.len()).map_err(|_| MatcherError::Full)?;
        let mut uuid = [0u8; 16];
        let mut id_len = 0u16;
        match record
            .id
            .strip_prefix(INDICATOR_PREFIX)
            .and_then(|u| Uuid::try_parse(u).ok())
            .filter(|u| {
                record.id.len() == INDICATOR_PREFIX.len() + 36
                    && u.hyphenated().to_string() == record.id[INDICATOR_PREFIX.len()..]
            }) {
            Some(u) => uuid = *u.as_bytes(),
            None => {
                let id = cut(&record.id, MAX_TEXT);
                id_len = id.len() as u16;
                self.text.push_str(id);
            }
        }
        let name_len = match &record.name {
            Some(name) => {
                let name = cut(name, MAX_TEXT - 1);
                self.text.push_str(name);
                name.len() as u16
            }
            None => u16::MAX,
        };
        let marking = match &record.marking {
            None => 0,
            Some(m) => match self.marking_ids.get(m.as_str()) {
                Some(&i) => i,
                None => {
                    let i =
                        u16::try_from(self.markings.len() + 1).map_err(|_| MatcherError::Full)?;
                    self.markings.push(m.as_str().into());
                    self.marking_ids.insert(m.as_str().into(), i);
                    i
                }
            },
        };
        self.rows.push(Row {
            uuid,
            valid_until: record.valid_until.map_or(NO_TIME, |t| t.timestamp()),
            text_start,
            id_len,
            name_len,
            marking,
            confidence: record.confidence.map_or(NO_CONFIDENCE, |c| c.min(100)),
        });
        Ok(IndicatorRef(reference))
    }

    /// The metadata of an indicator.
    pub fn get(&self, reference: IndicatorRef) -> Option<IndicatorInfo<'_>> {
        let row = self.rows.get(reference.0 as usize)?;
        let start = row.text_start as usize;
        let id_end = start + usize::from(row.id_len);
        let id = if row.id_len == 0 {
            Cow::Owned(format!(
                "{INDICATOR_PREFIX}{}",
                Uuid::from_bytes(row.uuid).hyphenated()
            ))
        } else {
            Cow::Borrowed(self.text.get(start..id_end)?)
        };
        let name = if row.name_len == u16::MAX {
            None
        } else {
            Some(self.text.get(id_end..id_end + usize::from(row.name_len))?)
        };
        let marking = match row.marking {
            0 => None,
            i => self.markings.get(usize::from(i) - 1).map(|m| &**m),
        };
        let valid_until = match row.valid_until {
            NO_TIME => None,
            secs => DateTime::from_timestamp(secs, 0),
        };
        let confidence = (row.confidence != NO_CONFIDENCE).then_some(row.confidence);
        Some(IndicatorInfo {
            id,
            name,
            marking,
            valid_until,
            confidence,
        })
    }

    /// The number of indicators.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Releases spare capacity after a bulk load.
    pub fn shrink_to_fit(&mut self) {
        self.rows.shrink_to_fit();
        self.text.shrink_to_fit();
    }

    /// Heap bytes used by the table.
    pub fn memory_usage(&self) -> usize {
        self.rows.capacity() * size_of::<Row>()
            + self.text.capacity()
            + self
                .markings
                .iter()
                .map(|m| m.len() * 2 + 24)
                .sum::<usize>()
            + self.marking_ids.capacity() * (size_of::<(Box<str>, u16)>() + 1)
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip() {
        let mut table = IndicatorTable::new();
        let until = DateTime::from_timestamp(1_900_000_000, 0).unwrap();
        let a = table
            .push(&IndicatorRecord {
                id: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f".into(),
                name: Some("C2 server".into()),
                marking: Some("marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb".into()),
                valid_until: Some(until),
                confidence: Some(80),
            })
            .unwrap();
        let b = table
            .push(&IndicatorRecord {
                id: "list:blocklist.txt:7".into(),
                ..IndicatorRecord::default()
            })
            .unwrap();
        let info = table.get(a).unwrap();
        assert_eq!(info.id, "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f");
        assert_eq!(info.name, Some("C2 server"));
        assert_eq!(
            info.marking,
            Some("marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb")
        );
        assert_eq!(info.valid_until, Some(until));
        assert_eq!(info.confidence, Some(80));
        assert!(!info.is_valid_at(until));
        let info = table.get(b).unwrap();
        assert_eq!(info.id, "list:blocklist.txt:7");
        assert_eq!(info.name, None);
        assert_eq!(info.marking, None);
        assert!(table.get(IndicatorRef(2)).is_none());
        assert_eq!(size_of::<Row>(), 40);
    }

    #[test]
    fn uppercase_uuid_ids_are_kept_verbatim() {
        let mut table = IndicatorTable::new();
        let id = "indicator--8E2E2D2B-17D4-4CBF-938F-98EE46B3CD3F";
        let r = table
            .push(&IndicatorRecord {
                id: id.into(),
                ..IndicatorRecord::default()
            })
            .unwrap();
        assert_eq!(table.get(r).unwrap().id, id);
    }
}
