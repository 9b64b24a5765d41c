//! Parsers of untrusted input. Each returns the events that parsed and one [`crate::ParseError`] per
//! record that did not, so one bad record never stops the rest.
