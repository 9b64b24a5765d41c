//! The sharing policy: one engine that decides, for every object and every peer, whether the
//! object may be sent. Every egress (push, live feed, TAXII pulls by peers, the hub's relay)
//! asks [`SharingPolicy::decide`]; the [`Decision`] carries the rule that applied, for the audit
//! log.
//!
//! # Rules, in the order they apply
//!
//! 1. **Nothing goes back to its origin**: a peer of the owning organisation that is not one of
//!    our own nodes already has the object.
//! 2. **Inside the organisation** ([`PeerRelation::OwnNode`], whose organisation must be ours):
//!    everything is replicated, except TLP:RED received from another organisation (RED is for
//!    the named recipients, not for their other systems).
//! 3. **TLP:RED never leaves the organisation; TLP:AMBER+STRICT only goes to the organisation's
//!    own nodes.**
//! 4. **Members do not relay**: a member node sends beyond its organisation only what its
//!    organisation owns; relaying other organisations' objects is the hub's job.
//! 5. **Filters** beyond the organisation: the object type must be on the allow-list (policy's
//!    and peer's, when set) and its `confidence`, when it has one, at least the minimum.
//! 6. **By TLP**: CLEAR to every peer; GREEN to the community (the hub, the members), not to
//!    partners outside it; AMBER to the hub (which relays by the same rules), to members in the
//!    sharing groups or organisations named on the object, or, when it names none, to the whole
//!    community; never to partners.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use shield_intel::stix::StixObject;
use shield_intel::tlp::{Tlp, tlp_of};

/// What this node is in its community.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeRole {
    /// The cross-border hub: relays members' objects and correlates their sightings.
    Hub,
    /// A member of a hub's community.
    Member,
}

/// What a peer is to this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PeerRelation {
    /// Another node of this node's own organisation.
    OwnNode,
    /// The hub of this node's community.
    Hub,
    /// A member of this node's community (the hub's members, or a member peering directly).
    Member,
    /// A peer outside the community (another hub, a vendor, a public TAXII consumer).
    Partner,
}

impl PeerRelation {
    /// Every relation, for tables.
    pub const ALL: [PeerRelation; 4] = [
        PeerRelation::OwnNode,
        PeerRelation::Hub,
        PeerRelation::Member,
        PeerRelation::Partner,
    ];
}

/// A peer as the policy sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerView {
    /// The peer's name (configuration).
    pub name: String,
    /// What it is to this node.
    pub relation: PeerRelation,
    /// Its organisation's STIX identity id.
    pub organisation: String,
    /// The sharing groups its organisation belongs to.
    pub groups: BTreeSet<String>,
    /// Object types this peer takes (`None`: every type the policy allows).
    pub types: Option<BTreeSet<String>>,
    /// Lowest confidence this peer takes (`None`: the policy's).
    pub min_confidence: Option<u8>,
}

impl PeerView {
    /// A peer without groups or filters of its own.
    pub fn new(name: &str, relation: PeerRelation, organisation: &str) -> PeerView {
        PeerView {
            name: name.to_owned(),
            relation,
            organisation: organisation.to_owned(),
            groups: BTreeSet::new(),
            types: None,
            min_confidence: None,
        }
    }

    /// The same peer in these sharing groups.
    pub fn in_groups<'a>(mut self, groups: impl IntoIterator<Item = &'a str>) -> PeerView {
        self.groups.extend(groups.into_iter().map(str::to_owned));
        self
    }
}

/// What the policy needs to know about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectFacts {
    /// The STIX type.
    pub object_type: String,
    /// Its TLP level: the most restrictive TLP marking, else the source's default.
    pub tlp: Tlp,
    /// Its `confidence`, when it has one.
    pub confidence: Option<u8>,
    /// The STIX identity id of the organisation that owns it (its origin).
    pub owner: String,
    /// Organisations it is explicitly shared with (STIX identity ids).
    pub shared_with: BTreeSet<String>,
    /// Sharing groups it is explicitly shared with.
    pub groups: BTreeSet<String>,
}

impl ObjectFacts {
    /// The facts of `object`, owned by `owner`; `default_tlp` applies when it carries no TLP
    /// marking.
    pub fn of(object: &StixObject, owner: &str, default_tlp: Tlp) -> ObjectFacts {
        ObjectFacts {
            object_type: object.type_name().to_owned(),
            tlp: tlp_of(object).unwrap_or(default_tlp),
            confidence: object.confidence(),
            owner: owner.to_owned(),
            shared_with: BTreeSet::new(),
            groups: BTreeSet::new(),
        }
    }

    /// The same facts, also shared with these organisations.
    pub fn shared_with<'a>(mut self, organisations: impl IntoIterator<Item = &'a str>) -> Self {
        self.shared_with
            .extend(organisations.into_iter().map(str::to_owned));
        self
    }

    /// The same facts, also shared with these groups.
    pub fn in_groups<'a>(mut self, groups: impl IntoIterator<Item = &'a str>) -> Self {
        self.groups.extend(groups.into_iter().map(str::to_owned));
        self
    }
}

/// The rule that decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Sent: a node of our own organisation.
    OwnOrganisation,
    /// Not sent: the peer's organisation is the object's origin.
    BackToOrigin,
    /// Not sent: the peer was declared an own node but belongs to another organisation.
    NotOwnOrganisation,
    /// Not sent: TLP:RED received from another organisation goes nowhere.
    RedReceived,
    /// Not sent: TLP:RED never leaves the organisation.
    RedStaysInOrganisation,
    /// Not sent: TLP:AMBER+STRICT only goes to the organisation's own nodes.
    AmberStrictStaysInOrganisation,
    /// Not sent: a member does not relay other organisations' objects.
    MemberDoesNotRelay,
    /// Not sent: the type is not on an allow-list.
    TypeNotAllowed(String),
    /// Not sent: confidence below the minimum.
    ConfidenceTooLow {
        /// The object's confidence.
        confidence: u8,
        /// The minimum.
        minimum: u8,
    },
    /// Sent: TLP:CLEAR goes to every peer.
    Clear,
    /// Sent: TLP:GREEN goes to the community.
    GreenCommunity,
    /// Not sent: TLP:GREEN and TLP:AMBER stay in the community.
    OutsideCommunity,
    /// Sent: TLP:AMBER to the hub, which relays it by the same rules.
    AmberToHub,
    /// Sent: TLP:AMBER naming no group goes to the hub's community.
    AmberCommunity,
    /// Sent: TLP:AMBER to a group or organisation named on the object.
    AmberNamed(String),
    /// Not sent: TLP:AMBER names groups or organisations and the peer is in none of them.
    AmberNotNamed,
}

impl Reason {
    /// A stable short code, for audit records and metrics labels.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::OwnOrganisation => "own-organisation",
            Reason::BackToOrigin => "back-to-origin",
            Reason::NotOwnOrganisation => "not-own-organisation",
            Reason::RedReceived => "red-received",
            Reason::RedStaysInOrganisation => "red-stays-in-organisation",
            Reason::AmberStrictStaysInOrganisation => "amber-strict-stays-in-organisation",
            Reason::MemberDoesNotRelay => "member-does-not-relay",
            Reason::TypeNotAllowed(_) => "type-not-allowed",
            Reason::ConfidenceTooLow { .. } => "confidence-too-low",
            Reason::Clear => "clear",
            Reason::GreenCommunity => "green-community",
            Reason::OutsideCommunity => "outside-community",
            Reason::AmberToHub => "amber-to-hub",
            Reason::AmberCommunity => "amber-community",
            Reason::AmberNamed(_) => "amber-named",
            Reason::AmberNotNamed => "amber-not-named",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::OwnOrganisation => f.write_str("a node of our own organisation"),
            Reason::BackToOrigin => f.write_str("the peer's organisation is the origin"),
            Reason::NotOwnOrganisation => {
                f.write_str("declared an own node, but of another organisation")
            }
            Reason::RedReceived => f.write_str("TLP:RED received from another organisation"),
            Reason::RedStaysInOrganisation => f.write_str("TLP:RED never leaves the organisation"),
            Reason::AmberStrictStaysInOrganisation => {
                f.write_str("TLP:AMBER+STRICT stays in the organisation")
            }
            Reason::MemberDoesNotRelay => {
                f.write_str("a member does not relay other organisations' objects")
            }
            Reason::TypeNotAllowed(t) => write!(f, "type {t} is not shared"),
            Reason::ConfidenceTooLow {
                confidence,
                minimum,
            } => write!(f, "confidence {confidence} below {minimum}"),
            Reason::Clear => f.write_str("TLP:CLEAR"),
            Reason::GreenCommunity => f.write_str("TLP:GREEN to the community"),
            Reason::OutsideCommunity => f.write_str("the peer is outside the community"),
            Reason::AmberToHub => f.write_str("TLP:AMBER to the hub for relay"),
            Reason::AmberCommunity => f.write_str("TLP:AMBER to the community (no group named)"),
            Reason::AmberNamed(via) => write!(f, "TLP:AMBER to {via}"),
            Reason::AmberNotNamed => f.write_str("TLP:AMBER, the peer is in no named group"),
        }
    }
}

/// Whether to send, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether the object may be sent to the peer.
    pub send: bool,
    /// The rule that decided.
    pub reason: Reason,
}

impl Decision {
    fn send(reason: Reason) -> Decision {
        Decision { send: true, reason }
    }

    fn hold(reason: Reason) -> Decision {
        Decision {
            send: false,
            reason,
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.send { "send" } else { "hold" };
        write!(f, "{verb}: {}", self.reason)
    }
}

/// A node's sharing policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharingPolicy {
    /// This node's organisation (STIX identity id).
    pub organisation: String,
    /// This node's role.
    pub role: NodeRole,
    /// Object types shared beyond the organisation (`None`: every type).
    pub types: Option<BTreeSet<String>>,
    /// Lowest `confidence` shared beyond the organisation; objects without one pass.
    pub min_confidence: Option<u8>,
}

impl SharingPolicy {
    /// A policy without filters.
    pub fn new(organisation: &str, role: NodeRole) -> SharingPolicy {
        SharingPolicy {
            organisation: organisation.to_owned(),
            role,
            types: None,
            min_confidence: None,
        }
    }

    /// Whether `object` may be sent to `peer`, and the rule that decided.
    pub fn decide(&self, object: &ObjectFacts, peer: &PeerView) -> Decision {
        let ours = object.owner == self.organisation;
        if peer.relation == PeerRelation::OwnNode {
            if peer.organisation != self.organisation {
                return Decision::hold(Reason::NotOwnOrganisation);
            }
            if object.tlp == Tlp::Red && !ours {
                return Decision::hold(Reason::RedReceived);
            }
            return Decision::send(Reason::OwnOrganisation);
        }
        if peer.organisation == object.owner {
            return Decision::hold(Reason::BackToOrigin);
        }
        match object.tlp {
            Tlp::Red => return Decision::hold(Reason::RedStaysInOrganisation),
            Tlp::AmberStrict => return Decision::hold(Reason::AmberStrictStaysInOrganisation),
            _ => {}
        }
        if !ours && self.role == NodeRole::Member {
            return Decision::hold(Reason::MemberDoesNotRelay);
        }
        if let Some(reason) = self.filtered(object, peer) {
            return Decision::hold(reason);
        }
        match (object.tlp, peer.relation) {
            (Tlp::Clear, _) => Decision::send(Reason::Clear),
            (_, PeerRelation::Partner) => Decision::hold(Reason::OutsideCommunity),
            (Tlp::Green, _) => Decision::send(Reason::GreenCommunity),
            (_, PeerRelation::Hub) => Decision::send(Reason::AmberToHub),
            _ if object.groups.is_empty() && object.shared_with.is_empty() => {
                Decision::send(Reason::AmberCommunity)
            }
            _ => {
                if object.shared_with.contains(&peer.organisation) {
                    return Decision::send(Reason::AmberNamed(format!(
                        "organisation {}",
                        peer.organisation
                    )));
                }
                match object.groups.intersection(&peer.groups).next() {
                    Some(group) => Decision::send(Reason::AmberNamed(format!("group {group}"))),
                    None => Decision::hold(Reason::AmberNotNamed),
                }
            }
        }
    }

    fn filtered(&self, object: &ObjectFacts, peer: &PeerView) -> Option<Reason> {
        for types in [&self.types, &peer.types].into_iter().flatten() {
            if !types.contains(&object.object_type) {
                return Some(Reason::TypeNotAllowed(object.object_type.clone()));
            }
        }
        let confidence = object.confidence?;
        let minimum = self.min_confidence.max(peer.min_confidence)?;
        (confidence < minimum).then_some(Reason::ConfidenceTooLow {
            confidence,
            minimum,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shield_intel::stix::{ObjectBuilder, Timestamp};

    const EE: &str = "identity--00000000-0000-4000-8000-0000000000ee";
    const LV: &str = "identity--00000000-0000-4000-8000-00000000001e";
    const LT: &str = "identity--00000000-0000-4000-8000-00000000001f";
    const HUB: &str = "identity--00000000-0000-4000-8000-0000000000ab";
    const FI: &str = "identity--00000000-0000-4000-8000-0000000000f1";

    fn facts(tlp: Tlp, owner: &str) -> ObjectFacts {
        ObjectFacts {
            object_type: "indicator".into(),
            tlp,
            confidence: None,
            owner: owner.into(),
            shared_with: BTreeSet::new(),
            groups: BTreeSet::new(),
        }
    }

    /// The peers of EE's member node: another EE node, the hub, LV (in group `baltic`), FI (a
    /// member in no group), a partner outside the community.
    fn member_peers() -> [PeerView; 5] {
        [
            PeerView::new("ee-2", PeerRelation::OwnNode, EE),
            PeerView::new("hub", PeerRelation::Hub, HUB),
            PeerView::new("lv", PeerRelation::Member, LV).in_groups(["baltic"]),
            PeerView::new("fi", PeerRelation::Member, FI),
            PeerView::new(
                "vendor",
                PeerRelation::Partner,
                "identity--00000000-0000-4000-8000-000000000099",
            ),
        ]
    }

    fn receivers(policy: &SharingPolicy, object: &ObjectFacts, peers: &[PeerView]) -> String {
        peers
            .iter()
            .filter(|p| policy.decide(object, p).send)
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    #[test]
    fn tlp_matrix_for_own_objects_at_a_member() {
        let policy = SharingPolicy::new(EE, NodeRole::Member);
        let peers = member_peers();
        // (level, named groups, named organisations, expected receivers)
        let table: [(Tlp, &[&str], &[&str], &str); 9] = [
            (Tlp::Clear, &[], &[], "ee-2,hub,lv,fi,vendor"),
            (Tlp::Green, &[], &[], "ee-2,hub,lv,fi"),
            (Tlp::Amber, &[], &[], "ee-2,hub,lv,fi"),
            (Tlp::Amber, &["baltic"], &[], "ee-2,hub,lv"),
            (Tlp::Amber, &["nordic"], &[], "ee-2,hub"),
            (Tlp::Amber, &[], &[FI], "ee-2,hub,fi"),
            (Tlp::Amber, &["baltic"], &[FI], "ee-2,hub,lv,fi"),
            (Tlp::AmberStrict, &["baltic"], &[FI], "ee-2"),
            (Tlp::Red, &["baltic"], &[FI], "ee-2"),
        ];
        for (tlp, groups, orgs, expected) in table {
            let object = facts(tlp, EE)
                .in_groups(groups.iter().copied())
                .shared_with(orgs.iter().copied());
            assert_eq!(
                receivers(&policy, &object, &peers),
                expected,
                "{tlp} groups {groups:?} orgs {orgs:?}"
            );
        }
    }

    #[test]
    fn tlp_matrix_for_received_objects_at_a_member() {
        // EE holds LT's objects: it replicates them to its own nodes within TLP, relays nothing.
        let policy = SharingPolicy::new(EE, NodeRole::Member);
        let peers = member_peers();
        let table: [(Tlp, &str); 5] = [
            (Tlp::Clear, "ee-2"),
            (Tlp::Green, "ee-2"),
            (Tlp::Amber, "ee-2"),
            (Tlp::AmberStrict, "ee-2"),
            (Tlp::Red, ""),
        ];
        for (tlp, expected) in table {
            assert_eq!(
                receivers(&policy, &facts(tlp, LT), &peers),
                expected,
                "{tlp}"
            );
        }
        let decision = policy.decide(&facts(Tlp::Green, LT), &peers[1]);
        assert_eq!(decision.reason, Reason::MemberDoesNotRelay);
    }

    #[test]
    fn tlp_matrix_at_the_hub() {
        // The hub relays EE's objects to its members: never back to EE, AMBER by groups.
        let policy = SharingPolicy::new(HUB, NodeRole::Hub);
        let peers = [
            PeerView::new("hub-2", PeerRelation::OwnNode, HUB),
            PeerView::new("ee", PeerRelation::Member, EE).in_groups(["baltic"]),
            PeerView::new("lv", PeerRelation::Member, LV).in_groups(["baltic"]),
            PeerView::new("lt", PeerRelation::Member, LT).in_groups(["baltic"]),
            PeerView::new("fi", PeerRelation::Member, FI),
            PeerView::new(
                "other-hub",
                PeerRelation::Partner,
                "identity--00000000-0000-4000-8000-000000000077",
            ),
        ];
        let table: [(Tlp, &[&str], &[&str], &str); 8] = [
            (Tlp::Clear, &[], &[], "hub-2,lv,lt,fi,other-hub"),
            (Tlp::Green, &[], &[], "hub-2,lv,lt,fi"),
            (Tlp::Amber, &[], &[], "hub-2,lv,lt,fi"),
            (Tlp::Amber, &["baltic"], &[], "hub-2,lv,lt"),
            (Tlp::Amber, &[], &[LV], "hub-2,lv"),
            (Tlp::Amber, &["nordic"], &[], "hub-2"),
            (Tlp::AmberStrict, &[], &[], "hub-2"),
            (Tlp::Red, &[], &[], ""),
        ];
        for (tlp, groups, orgs, expected) in table {
            let object = facts(tlp, EE)
                .in_groups(groups.iter().copied())
                .shared_with(orgs.iter().copied());
            assert_eq!(
                receivers(&policy, &object, &peers),
                expected,
                "{tlp} {groups:?} {orgs:?}"
            );
        }
        // The hub's own AMBER objects (cross-border incidents) go to the organisations named.
        let incident = facts(Tlp::Amber, HUB).shared_with([EE, LT]);
        assert_eq!(receivers(&policy, &incident, &peers), "hub-2,ee,lt");
        let red = facts(Tlp::Red, HUB);
        assert_eq!(receivers(&policy, &red, &peers), "hub-2");
    }

    #[test]
    fn a_misdeclared_own_node_gets_nothing_beyond_clear_rules() {
        let policy = SharingPolicy::new(EE, NodeRole::Member);
        let fake = PeerView::new("fake", PeerRelation::OwnNode, LV);
        for tlp in Tlp::ALL {
            let decision = policy.decide(&facts(tlp, EE), &fake);
            assert_eq!(decision.reason, Reason::NotOwnOrganisation);
            assert!(!decision.send);
        }
    }

    #[test]
    fn type_and_confidence_filters() {
        let mut policy = SharingPolicy::new(EE, NodeRole::Member);
        policy.types = Some(["indicator", "sighting"].map(str::to_owned).into());
        policy.min_confidence = Some(50);
        let mut lv = PeerView::new("lv", PeerRelation::Member, LV);
        let own = PeerView::new("ee-2", PeerRelation::OwnNode, EE);
        let mut object = facts(Tlp::Green, EE);
        object.confidence = Some(49);
        let decision = policy.decide(&object, &lv);
        assert_eq!(
            decision.reason,
            Reason::ConfidenceTooLow {
                confidence: 49,
                minimum: 50
            }
        );
        assert!(
            policy.decide(&object, &own).send,
            "filters apply beyond the organisation"
        );
        object.confidence = Some(50);
        assert!(policy.decide(&object, &lv).send);
        lv.min_confidence = Some(70);
        assert!(
            !policy.decide(&object, &lv).send,
            "the stricter minimum wins"
        );
        object.confidence = None;
        assert!(policy.decide(&object, &lv).send, "no confidence passes");
        object.object_type = "malware".into();
        assert_eq!(
            policy.decide(&object, &lv).reason,
            Reason::TypeNotAllowed("malware".into())
        );
        object.object_type = "sighting".into();
        lv.types = Some(["indicator"].map(str::to_owned).into());
        assert!(
            !policy.decide(&object, &lv).send,
            "the peer's allow-list applies too"
        );
    }

    #[test]
    fn facts_from_objects() {
        let t = Timestamp::parse("2026-03-01T12:00:00.000Z").unwrap();
        let object = ObjectBuilder::indicator("[domain-name:value = 'evil.example']", "stix", t, t)
            .tlp(Tlp::Green)
            .tlp(Tlp::AmberStrict)
            .property("confidence", 85)
            .build()
            .unwrap();
        let f = ObjectFacts::of(&object, EE, Tlp::Clear);
        assert_eq!(f.tlp, Tlp::AmberStrict, "the most restrictive marking");
        assert_eq!(f.confidence, Some(85));
        assert_eq!(f.object_type, "indicator");
        let unmarked =
            ObjectBuilder::indicator("[domain-name:value = 'evil.example']", "stix", t, t)
                .build()
                .unwrap();
        assert_eq!(ObjectFacts::of(&unmarked, EE, Tlp::Amber).tlp, Tlp::Amber);
        let decision = SharingPolicy::new(EE, NodeRole::Member)
            .decide(&f, &PeerView::new("hub", PeerRelation::Hub, HUB));
        assert_eq!(
            decision.to_string(),
            "hold: TLP:AMBER+STRICT stays in the organisation"
        );
        assert_eq!(decision.reason.code(), "amber-strict-stays-in-organisation");
    }
}
