//! The compiled IOC matcher: millions of indicators in memory, millions of lookups per second.
//!
//! # Layout
//!
//! An [`IocMatcher`] maps indicator values to [`IndicatorRef`]s, compact `u32` numbers that index a
//! side table of indicator metadata (STIX id, name, marking, expiry): [`IndicatorTable`] or the
//! caller's own. Each kind has its own index (see `index.rs`): keys stored once in dense form
//! (IPv4 as `u32`, IPv6 as `u128`, hashes as `[u8; 16/20/32/64]`, names in one byte arena), and a
//! hashbrown table of `u32` positions into them. Per indicator value that is the key itself, 4 bytes
//! of reference, and about 5–10 bytes of table.
//!
//! * **Domains** match themselves and their subdomains: `evil.example` matches `a.b.evil.example`
//!   but not `notevil.example`. A lookup probes the name and then each parent suffix at a label
//!   boundary; a bit set of the label counts that indicators have skips the suffixes no indicator
//!   can equal (and stops below the fewest labels), so a lookup costs one to three probes.
//! * **CIDR blocks** are keyed by `(network, prefix length)`. In the compiled base, IPv4 blocks are
//!   also flattened into disjoint address intervals (see `intervals.rs`), so an address costs one
//!   binary search plus one probe per block that really contains it; elsewhere (IPv6, the delta) a
//!   bit set of the prefix lengths in use means an address probes only those lengths, longest
//!   first. Nested blocks all match.
//! * **Addresses** match exact IPv4/IPv6 indicators and every block that contains them;
//!   IPv4-mapped IPv6 addresses are looked up as IPv4.
//! * **URLs** are normalised the same way as indicators (lowercase scheme and host, no default port,
//!   no fragment) without allocating when the URL is already canonical; e-mail addresses and file
//!   names are lowercased, hashes decoded from hex of either case.
//!
//! # Live updates
//!
//! The matcher is an immutable compiled *base* behind an `Arc`, a small mutable *delta* with the same
//! layout, and a set of *revoked* references:
//!
//! * [`IocMatcher::insert`] adds to the delta in O(1);
//! * [`IocMatcher::revoke`] hides every base entry of an indicator (a tombstone) and drops its delta
//!   entries; inserting values for a revoked reference afterwards (a new version of the indicator)
//!   puts them in the delta, which tombstones do not filter;
//! * [`IocMatcher::rebuild`] (or [`IocMatcher::rebuilt`], which leaves `self` serving meanwhile)
//!   compiles base minus tombstones plus delta into a new base; [`IocMatcher::needs_rebuild`] says
//!   when the delta or the tombstones have grown enough to be worth it.
//!
//! Cloning an `IocMatcher` clones the `Arc` of the base and the small delta, so a pipeline can keep an
//! `Arc<IocMatcher>` that readers use lock-free, and apply updates copy-on-write (clone, change,
//! swap the `Arc`).
//!
//! Hash tables use the Fx hash: indicator values come from curated feeds, and lookups of
//! attacker-chosen values cannot collide on purpose with keys they do not know.

mod detector;
mod index;
mod indicators;
mod intervals;
mod stix;
mod tables;

use std::sync::{Arc, LazyLock};

use rustc_hash::FxHashSet;
use serde::{Deserialize, Serialize};
use shield_event::Event;

use crate::ioc::{Ioc, IocKind, url_host};
use crate::observe::{Observable, ObservableExtractor};
use tables::{IocTables, ProbeKey, probe_key};

pub use detector::{IndicatorSet, IntelDetector};
pub use indicators::{IndicatorInfo, IndicatorRecord, IndicatorTable};
pub use stix::{PatternIocs, indicator_record, pattern_iocs};

/// The number of an indicator in the caller's (or an [`IndicatorTable`]'s) side table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IndicatorRef(pub u32);

/// How a value matched an indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchVia {
    /// The normalised values are equal.
    Exact,
    /// The value is a subdomain of the indicator's domain.
    Subdomain,
    /// The address (or network) lies in the indicator's network.
    Network {
        /// The indicator network's prefix length.
        prefix_len: u8,
    },
}

/// One indicator that a looked-up value matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IocHit {
    /// The indicator.
    pub indicator: IndicatorRef,
    /// The kind of the indicator's value (e.g. [`IocKind::Cidr`] when an address fell in a block).
    pub kind: IocKind,
    /// How the value matched.
    pub via: MatchVia,
}

/// One indicator that an observable of an event matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventHit {
    /// The match.
    pub hit: IocHit,
    /// The event field the observable came from (`destination.ip`, `Hashes`, …).
    pub field: String,
    /// The observable's value as extracted.
    pub value: String,
}

/// Why the matcher refused an indicator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatcherError {
    /// An index reached its 4 GiB (or 2^32 entries) limit.
    #[error("matcher capacity exhausted (more than 2^32 entries or bytes in one index)")]
    Full,
    /// An indicator whose value was not normalised (constructed around [`Ioc::new`]).
    #[error("indicator value is not in normal form: {0}")]
    Unnormalised(String),
}

/// The compiled IOC matcher (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct IocMatcher {
    base: Arc<IocTables>,
    delta: IocTables,
    revoked: FxHashSet<u32>,
}

/// The extractor `match_event` uses: Shield's default field mapping.
static DEFAULT_EXTRACTOR: LazyLock<ObservableExtractor> =
    LazyLock::new(ObservableExtractor::default);

impl IocMatcher {
    /// An empty matcher.
    pub fn new() -> Self {
        IocMatcher::default()
    }

    /// Compiles a matcher from `(indicator value, reference)` pairs. Duplicate pairs are stored once;
    /// one value may carry many references and one reference many values.
    pub fn build<'a>(
        entries: impl IntoIterator<Item = (&'a Ioc, IndicatorRef)>,
    ) -> Result<Self, MatcherError> {
        let mut tables = IocTables::default();
        for (ioc, r) in entries {
            tables.insert(ioc, r.0)?;
        }
        tables.shrink();
        Ok(IocMatcher {
            base: Arc::new(tables),
            delta: IocTables::default(),
            revoked: FxHashSet::default(),
        })
    }

    /// Adds one value of an indicator, live (to the delta).
    pub fn insert(&mut self, ioc: &Ioc, indicator: IndicatorRef) -> Result<(), MatcherError> {
        self.delta.insert(ioc, indicator.0).map(|_| ())
    }

    /// Retires every value of an indicator: hidden in the base at once, removed from the delta.
    pub fn revoke(&mut self, indicator: IndicatorRef) -> Result<(), MatcherError> {
        self.revoked.insert(indicator.0);
        let mut hit = false;
        self.delta.for_each(|_, r| hit |= r == indicator.0);
        if hit {
            self.delta = self.delta.retain_refs(&|r| r == indicator.0)?;
        }
        Ok(())
    }

    /// A new matcher whose base holds this one's live entries (base minus revoked, plus delta),
    /// with an empty delta and no tombstones. `self` keeps serving while it is built.
    pub fn rebuilt(&self) -> Result<IocMatcher, MatcherError> {
        let mut tables = if self.revoked.is_empty() {
            IocTables::clone(&self.base)
        } else {
            self.base.retain_refs(&|r| self.revoked.contains(&r))?
        };
        let mut result = Ok(false);
        self.delta.for_each(|ioc, r| {
            if result.is_ok() {
                result = tables.insert(ioc, r);
            }
        });
        result?;
        tables.shrink();
        Ok(IocMatcher {
            base: Arc::new(tables),
            delta: IocTables::default(),
            revoked: FxHashSet::default(),
        })
    }

    /// Merges delta and tombstones into a new base, in place.
    pub fn rebuild(&mut self) -> Result<(), MatcherError> {
        *self = self.rebuilt()?;
        Ok(())
    }

    /// Whether the delta or the tombstones have grown past 1/16 of the base (and past 4,096
    /// entries), the point where [`IocMatcher::rebuild`] pays for itself.
    pub fn needs_rebuild(&self) -> bool {
        let threshold = (self.base.pairs() / 16).max(4096);
        self.delta.pairs() > threshold || self.revoked.len() > threshold
    }

    /// `(base pairs, delta pairs, revoked references)`.
    pub fn stats(&self) -> (usize, usize, usize) {
        (self.base.pairs(), self.delta.pairs(), self.revoked.len())
    }

    /// Heap bytes used by the matcher (base, delta and tombstones; the base's `Arc` counted whole).
    pub fn memory_usage(&self) -> usize {
        self.base.heap_bytes()
            + self.delta.heap_bytes()
            + self.revoked.capacity() * (size_of::<u32>() + 1)
    }

    /// Appends to `out` every indicator that `value`, seen as a `kind`, matches. Values are
    /// normalised the way indicators are (case, trailing dots, URL form); a value that cannot be
    /// of that kind matches nothing. Address kinds accept either family and CIDR lookups match
    /// the blocks containing the block.
    pub fn lookup(&self, kind: IocKind, value: &str, out: &mut Vec<IocHit>) {
        if let Some(key) = probe_key(kind, value) {
            self.probe(&key, out);
        }
    }

    /// [`IocMatcher::lookup`] for a normalised indicator.
    pub fn lookup_ioc(&self, ioc: &Ioc, out: &mut Vec<IocHit>) {
        self.lookup(ioc.kind(), ioc.value(), out);
    }

    fn probe(&self, key: &ProbeKey<'_>, out: &mut Vec<IocHit>) {
        let mut push = |r: u32, kind: IocKind, via: MatchVia| {
            out.push(IocHit {
                indicator: IndicatorRef(r),
                kind,
                via,
            })
        };
        if self.revoked.is_empty() {
            self.base.probe(key, &mut push);
        } else {
            let revoked = &self.revoked;
            self.base.probe(key, &mut |r, kind, via| {
                if !revoked.contains(&r) {
                    push(r, kind, via);
                }
            });
        }
        self.delta.probe(key, &mut push);
    }

    /// Appends the indicators that one observable matches. A URL also looks up its host (as a
    /// domain or an address).
    pub fn match_observable(&self, observable: &Observable<'_>, out: &mut Vec<IocHit>) {
        self.lookup(observable.kind, &observable.value, out);
        if observable.kind == IocKind::Url {
            if let Some(host) = url_host(&observable.value) {
                let kind = if crate::ioc::lookup_addr(host).is_some() {
                    IocKind::Ipv4
                } else {
                    IocKind::Domain
                };
                self.lookup(kind, host, out);
            }
        }
    }

    /// Extracts the observables of `event` with Shield's default field mapping (see
    /// [`crate::observe`]) and appends every match, once per (indicator, field, value).
    pub fn match_event(&self, event: &Event, out: &mut Vec<EventHit>) {
        self.match_event_with(&DEFAULT_EXTRACTOR, event, out);
    }

    /// [`IocMatcher::match_event`] with a configured extractor.
    pub fn match_event_with(
        &self,
        extractor: &ObservableExtractor,
        event: &Event,
        out: &mut Vec<EventHit>,
    ) {
        let start = out.len();
        let mut hits = Vec::new();
        extractor.for_each(event, |observable| {
            hits.clear();
            self.match_observable(&observable, &mut hits);
            for hit in &hits {
                let duplicate = out[start..].iter().any(|seen| {
                    seen.hit.indicator == hit.indicator
                        && seen.field == observable.field
                        && seen.value == observable.value
                });
                if !duplicate {
                    out.push(EventHit {
                        hit: *hit,
                        field: observable.field.to_owned(),
                        value: observable.value.clone().into_owned(),
                    });
                }
            }
        });
    }
}
