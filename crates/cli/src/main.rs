//! The `shield` command.
fn main() {}
