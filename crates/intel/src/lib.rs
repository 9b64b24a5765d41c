//! STIX 2.1 objects and patterns, TLP 2.0, the IOC matcher, MISP formats.
