//! The per-kind indexes of one generation of the matcher (the compiled base or the live delta).

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use super::index::{FixedIndex, StrIndex};
use super::intervals::Intervals;
use super::{MatchVia, MatcherError};
use crate::ioc::{Ioc, IocKind, domain_label_count, hex_decode};

/// A lookup value decoded once, then probed in the base and the delta.
pub(crate) enum ProbeKey<'a> {
    V4(u32),
    V6(u128),
    Net(IpNet),
    Domain(Cow<'a, str>),
    Text(IocKind, Cow<'a, str>),
    Md5([u8; 16]),
    Sha1([u8; 20]),
    Sha256([u8; 32]),
    Sha512([u8; 64]),
}

/// Every index of one generation.
#[derive(Clone, Debug, Default)]
pub(crate) struct IocTables {
    v4: FixedIndex<u32>,
    v6: FixedIndex<u128>,
    /// IPv4 networks keyed by `network << 8 | prefix_len`.
    cidr4: FixedIndex<u64>,
    /// Bit `n` set when some IPv4 network has prefix length `n` (0..=31).
    cidr4_lens: u64,
    /// The IPv4 networks as disjoint intervals, built when the tables are compiled ([`shrink`]).
    ///
    /// [`shrink`]: IocTables::shrink
    cidr4_intervals: Option<Intervals>,
    /// IPv6 networks keyed by the 16 network bytes and the prefix length.
    cidr6: FixedIndex<[u8; 17]>,
    /// Bit `n` set when some IPv6 network has prefix length `n` (0..=127).
    cidr6_lens: u128,
    md5: FixedIndex<[u8; 16]>,
    sha1: FixedIndex<[u8; 20]>,
    sha256: FixedIndex<[u8; 32]>,
    sha512: FixedIndex<[u8; 64]>,
    domain: StrIndex,
    /// Bit `n` set when some domain has `n` labels (1..=127).
    domain_labels: u128,
    url: StrIndex,
    email: StrIndex,
    file_name: StrIndex,
    user_agent: StrIndex,
}

fn v4_mask(len: u32) -> u32 {
    u32::MAX.checked_shl(32 - len).unwrap_or(0)
}

fn v6_mask(len: u32) -> u128 {
    u128::MAX.checked_shl(128 - len).unwrap_or(0)
}

fn cidr6_key(net: u128, len: u32) -> [u8; 17] {
    let mut key = [0u8; 17];
    key[..16].copy_from_slice(&net.to_be_bytes());
    key[16] = len as u8;
    key
}

fn internal(ioc: &Ioc) -> MatcherError {
    MatcherError::Unnormalised(ioc.to_string())
}

impl IocTables {
    /// Adds one `(indicator, reference)` pair; answers whether it is new.
    pub(crate) fn insert(&mut self, ioc: &Ioc, r: u32) -> Result<bool, MatcherError> {
        let value = ioc.value();
        match ioc.kind() {
            IocKind::Ipv4 => {
                let addr: Ipv4Addr = value.parse().map_err(|_| internal(ioc))?;
                self.v4.insert(&u32::from(addr), r)
            }
            IocKind::Ipv6 => {
                let addr: Ipv6Addr = value.parse().map_err(|_| internal(ioc))?;
                self.v6.insert(&u128::from(addr), r)
            }
            IocKind::Cidr => match value.parse::<IpNet>().map_err(|_| internal(ioc))? {
                IpNet::V4(net) => {
                    let len = u32::from(net.prefix_len());
                    let bits = u32::from(net.network());
                    if len == 32 {
                        return self.v4.insert(&bits, r);
                    }
                    self.cidr4_lens |= 1 << len;
                    self.cidr4_intervals = None;
                    self.cidr4
                        .insert(&((u64::from(bits & v4_mask(len)) << 8) | u64::from(len)), r)
                }
                IpNet::V6(net) => {
                    let len = u32::from(net.prefix_len());
                    let bits = u128::from(net.network());
                    if len == 128 {
                        return self.v6.insert(&bits, r);
                    }
                    self.cidr6_lens |= 1 << len;
                    self.cidr6.insert(&cidr6_key(bits & v6_mask(len), len), r)
                }
            },
            IocKind::Domain => {
                let labels = domain_label_count(value).min(127);
                self.domain_labels |= 1 << labels;
                self.domain.insert(value.as_bytes(), r)
            }
            IocKind::Md5 => self
                .md5
                .insert(&hex_decode(value).ok_or_else(|| internal(ioc))?, r),
            IocKind::Sha1 => self
                .sha1
                .insert(&hex_decode(value).ok_or_else(|| internal(ioc))?, r),
            IocKind::Sha256 => self
                .sha256
                .insert(&hex_decode(value).ok_or_else(|| internal(ioc))?, r),
            IocKind::Sha512 => self
                .sha512
                .insert(&hex_decode(value).ok_or_else(|| internal(ioc))?, r),
            kind @ (IocKind::Url | IocKind::Email | IocKind::FileName | IocKind::UserAgent) => {
                self.text_index_mut(kind).insert(value.as_bytes(), r)
            }
        }
    }

    fn text_index(&self, kind: IocKind) -> &StrIndex {
        match kind {
            IocKind::Url => &self.url,
            IocKind::Email => &self.email,
            IocKind::FileName => &self.file_name,
            _ => &self.user_agent,
        }
    }

    fn text_index_mut(&mut self, kind: IocKind) -> &mut StrIndex {
        match kind {
            IocKind::Url => &mut self.url,
            IocKind::Email => &mut self.email,
            IocKind::FileName => &mut self.file_name,
            _ => &mut self.user_agent,
        }
    }

    /// Calls `found(reference, indicator kind, how)` for every indicator that `key` matches.
    #[inline]
    pub(crate) fn probe(&self, key: &ProbeKey<'_>, found: &mut impl FnMut(u32, IocKind, MatchVia)) {
        match key {
            ProbeKey::V4(addr) => self.probe_v4(*addr, found),
            ProbeKey::V6(addr) => self.probe_v6(*addr, found),
            ProbeKey::Net(net) => self.probe_net(net, found),
            ProbeKey::Domain(domain) => self.probe_domain(domain, found),
            ProbeKey::Text(kind, text) => self
                .text_index(*kind)
                .probe(text.as_bytes(), |r| found(r, *kind, MatchVia::Exact)),
            ProbeKey::Md5(h) => self
                .md5
                .probe(h, |r| found(r, IocKind::Md5, MatchVia::Exact)),
            ProbeKey::Sha1(h) => self
                .sha1
                .probe(h, |r| found(r, IocKind::Sha1, MatchVia::Exact)),
            ProbeKey::Sha256(h) => self
                .sha256
                .probe(h, |r| found(r, IocKind::Sha256, MatchVia::Exact)),
            ProbeKey::Sha512(h) => self
                .sha512
                .probe(h, |r| found(r, IocKind::Sha512, MatchVia::Exact)),
        }
    }

    fn probe_v4(&self, addr: u32, found: &mut impl FnMut(u32, IocKind, MatchVia)) {
        self.v4
            .probe(&addr, |r| found(r, IocKind::Ipv4, MatchVia::Exact));
        self.probe_cidr4(addr, 32, found);
    }

    /// Networks of prefix length at most `max_len` that contain `addr`, longest first.
    fn probe_cidr4(&self, addr: u32, max_len: u32, found: &mut impl FnMut(u32, IocKind, MatchVia)) {
        if let (Some(intervals), 32) = (&self.cidr4_intervals, max_len) {
            for &key in intervals.covering(addr) {
                let via = MatchVia::Network {
                    prefix_len: (key & 0xff) as u8,
                };
                self.cidr4.probe(&key, |r| found(r, IocKind::Cidr, via));
            }
            return;
        }
        let keep = if max_len >= 63 {
            u64::MAX
        } else {
            (1u64 << (max_len + 1)) - 1
        };
        let mut lens = self.cidr4_lens & keep;
        while lens != 0 {
            let len = 63 - lens.leading_zeros();
            lens &= !(1 << len);
            let key = (u64::from(addr & v4_mask(len)) << 8) | u64::from(len);
            let via = MatchVia::Network {
                prefix_len: len as u8,
            };
            self.cidr4.probe(&key, |r| found(r, IocKind::Cidr, via));
        }
    }

    fn probe_v6(&self, addr: u128, found: &mut impl FnMut(u32, IocKind, MatchVia)) {
        self.v6
            .probe(&addr, |r| found(r, IocKind::Ipv6, MatchVia::Exact));
        self.probe_cidr6(addr, 128, found);
    }

    fn probe_cidr6(
        &self,
        addr: u128,
        max_len: u32,
        found: &mut impl FnMut(u32, IocKind, MatchVia),
    ) {
        let keep = if max_len >= 127 {
            u128::MAX
        } else {
            (1u128 << (max_len + 1)) - 1
        };
        let mut lens = self.cidr6_lens & keep;
        while lens != 0 {
            let len = 127 - lens.leading_zeros();
            lens &= !(1 << len);
            let key = cidr6_key(addr & v6_mask(len), len);
            let via = MatchVia::Network {
                prefix_len: len as u8,
            };
            self.cidr6.probe(&key, |r| found(r, IocKind::Cidr, via));
        }
    }

    /// A network matches indicator networks that contain it (and, for a full-length prefix, the
    /// address itself).
    fn probe_net(&self, net: &IpNet, found: &mut impl FnMut(u32, IocKind, MatchVia)) {
        match net.trunc() {
            IpNet::V4(n) => {
                let len = u32::from(n.prefix_len());
                let bits = u32::from(n.network());
                if len == 32 {
                    return self.probe_v4(bits, found);
                }
                self.probe_cidr4(bits, len, found);
            }
            IpNet::V6(n) => {
                let len = u32::from(n.prefix_len());
                let bits = u128::from(n.network());
                if len == 128 {
                    return self.probe_v6(bits, found);
                }
                self.probe_cidr6(bits, len, found);
            }
        }
    }

    /// The domain itself, then each parent domain that has the label count of some indicator.
    fn probe_domain(&self, domain: &str, found: &mut impl FnMut(u32, IocKind, MatchVia)) {
        if self.domain_labels == 0 || domain.is_empty() {
            return;
        }
        // Fewest labels any indicator has: shorter suffixes cannot match.
        let fewest = self.domain_labels.trailing_zeros() as usize;
        let mut labels = domain_label_count(domain);
        let mut suffix = domain;
        let mut via = MatchVia::Exact;
        while labels >= fewest {
            if labels < 128 && self.domain_labels & (1 << labels) != 0 {
                self.domain
                    .probe(suffix.as_bytes(), |r| found(r, IocKind::Domain, via));
            }
            match suffix.find('.') {
                Some(dot) => {
                    suffix = &suffix[dot + 1..];
                    labels -= 1;
                    via = MatchVia::Subdomain;
                }
                None => break,
            }
        }
    }

    /// Calls `visit` with every stored pair, as an indicator.
    pub(crate) fn for_each(&self, mut visit: impl FnMut(&Ioc, u32)) {
        let mut emit = |kind: IocKind, value: String, r: u32| {
            if let Ok(ioc) = Ioc::new(kind, &value) {
                visit(&ioc, r);
            }
        };
        self.v4
            .for_each(|k, r| emit(IocKind::Ipv4, Ipv4Addr::from(*k).to_string(), r));
        self.v6
            .for_each(|k, r| emit(IocKind::Ipv6, Ipv6Addr::from(*k).to_string(), r));
        self.cidr4.for_each(|k, r| {
            let addr = Ipv4Addr::from((*k >> 8) as u32);
            emit(IocKind::Cidr, format!("{addr}/{}", k & 0xff), r);
        });
        self.cidr6.for_each(|k, r| {
            let mut bytes = [0u8; 16];
            bytes.copy_from_slice(&k[..16]);
            let addr = Ipv6Addr::from(bytes);
            emit(IocKind::Cidr, format!("{addr}/{}", k[16]), r);
        });
        self.md5.for_each(|k, r| emit(IocKind::Md5, hex(k), r));
        self.sha1.for_each(|k, r| emit(IocKind::Sha1, hex(k), r));
        self.sha256
            .for_each(|k, r| emit(IocKind::Sha256, hex(k), r));
        self.sha512
            .for_each(|k, r| emit(IocKind::Sha512, hex(k), r));
        for (kind, index) in [
            (IocKind::Domain, &self.domain),
            (IocKind::Url, &self.url),
            (IocKind::Email, &self.email),
            (IocKind::FileName, &self.file_name),
            (IocKind::UserAgent, &self.user_agent),
        ] {
            index.for_each(|k, r| emit(kind, String::from_utf8_lossy(k).into_owned(), r));
        }
    }

    /// The same tables without the pairs whose reference `drop` selects, keeping the key layout (no
    /// re-normalisation).
    pub(crate) fn retain_refs(&self, drop: &impl Fn(u32) -> bool) -> Result<Self, MatcherError> {
        Ok(IocTables {
            v4: self.v4.retain_refs(drop)?,
            v6: self.v6.retain_refs(drop)?,
            cidr4: self.cidr4.retain_refs(drop)?,
            cidr4_lens: self.cidr4_lens,
            cidr4_intervals: None,
            cidr6: self.cidr6.retain_refs(drop)?,
            cidr6_lens: self.cidr6_lens,
            md5: self.md5.retain_refs(drop)?,
            sha1: self.sha1.retain_refs(drop)?,
            sha256: self.sha256.retain_refs(drop)?,
            sha512: self.sha512.retain_refs(drop)?,
            domain: self.domain.retain_refs(drop)?,
            domain_labels: self.domain_labels,
            url: self.url.retain_refs(drop)?,
            email: self.email.retain_refs(drop)?,
            file_name: self.file_name.retain_refs(drop)?,
            user_agent: self.user_agent.retain_refs(drop)?,
        })
    }

    /// The number of stored `(indicator, reference)` pairs.
    pub(crate) fn pairs(&self) -> usize {
        self.v4.pairs()
            + self.v6.pairs()
            + self.cidr4.pairs()
            + self.cidr6.pairs()
            + self.md5.pairs()
            + self.sha1.pairs()
            + self.sha256.pairs()
            + self.sha512.pairs()
            + self.domain.pairs()
            + self.url.pairs()
            + self.email.pairs()
            + self.file_name.pairs()
            + self.user_agent.pairs()
    }

    /// Releases spare capacity after a bulk build.
    pub(crate) fn shrink(&mut self) {
        if self.cidr4.pairs() > 0 {
            let mut keys = Vec::new();
            self.cidr4.for_each(|k, _| keys.push(*k));
            keys.dedup();
            self.cidr4_intervals = Some(Intervals::build(keys.into_iter()));
        }
        self.v4.shrink();
        self.v6.shrink();
        self.cidr4.shrink();
        self.cidr6.shrink();
        self.md5.shrink();
        self.sha1.shrink();
        self.sha256.shrink();
        self.sha512.shrink();
        self.domain.shrink();
        self.url.shrink();
        self.email.shrink();
        self.file_name.shrink();
        self.user_agent.shrink();
    }

    /// Heap bytes of every index.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.v4.heap_bytes()
            + self.v6.heap_bytes()
            + self.cidr4.heap_bytes()
            + self
                .cidr4_intervals
                .as_ref()
                .map_or(0, Intervals::heap_bytes)
            + self.cidr6.heap_bytes()
            + self.md5.heap_bytes()
            + self.sha1.heap_bytes()
            + self.sha256.heap_bytes()
            + self.sha512.heap_bytes()
            + self.domain.heap_bytes()
            + self.url.heap_bytes()
            + self.email.heap_bytes()
            + self.file_name.heap_bytes()
            + self.user_agent.heap_bytes()
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// Decodes a lookup value of `kind` once; `None` when it cannot match any indicator of that kind.
pub(crate) fn probe_key(kind: IocKind, value: &str) -> Option<ProbeKey<'_>> {
    use crate::ioc::{fold_domain, fold_lower, lookup_addr, lookup_url};
    let key = match kind {
        IocKind::Ipv4 | IocKind::Ipv6 => match lookup_addr(value)? {
            IpAddr::V4(v4) => ProbeKey::V4(u32::from(v4)),
            IpAddr::V6(v6) => ProbeKey::V6(u128::from(v6)),
        },
        IocKind::Cidr => match value.trim().parse::<IpNet>() {
            Ok(net) => ProbeKey::Net(net),
            Err(_) => return probe_key(IocKind::Ipv4, value),
        },
        IocKind::Domain => {
            let domain = fold_domain(value);
            if domain.len() > 253 {
                return None;
            }
            ProbeKey::Domain(domain)
        }
        IocKind::Url => ProbeKey::Text(kind, lookup_url(value)?),
        IocKind::Email => ProbeKey::Text(kind, fold_lower(value.trim())),
        IocKind::FileName => ProbeKey::Text(kind, fold_lower(crate::ioc::basename(value.trim()))),
        IocKind::UserAgent => ProbeKey::Text(kind, Cow::Borrowed(value.trim())),
        IocKind::Md5 => ProbeKey::Md5(hex_decode(value.trim())?),
        IocKind::Sha1 => ProbeKey::Sha1(hex_decode(value.trim())?),
        IocKind::Sha256 => ProbeKey::Sha256(hex_decode(value.trim())?),
        IocKind::Sha512 => ProbeKey::Sha512(hex_decode(value.trim())?),
    };
    Some(key)
}
