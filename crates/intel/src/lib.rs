//! STIX 2.1 objects and patterns, TLP 2.0, the IOC matcher, MISP formats.

pub mod ioc;
pub mod matcher;
pub mod observe;
