//! Read scopes: how the node serves reads to callers it shares with by policy rather than by the
//! store's TLP rule.
//!
//! A TAXII read normally runs as the caller ([`Caller::reader`]): the store's TLP rule decides
//! which versions it sees. A federation peer is different: what it may receive is what the
//! node's sharing policy sends it, the same whether the node pushes, streams or the peer pulls.
//! A [`ReadPolicy`] set with [`super::TaxiiState::with_read_policy`] may give a caller a
//! [`ReadScope`]: queries then run as the scope's reader (the node itself), and every page is
//! passed through [`ReadScope::serve`], which keeps what the policy lets the caller receive and
//! replaces each text by the one that leaves the node (own objects signed, sightings
//! pseudonymised). Page boundaries, `more`, `next` and the `X-TAXII-Date-Added-*` headers stay
//! those of the unfiltered page, so a client polling by `added_after` moves past versions held
//! back and never skips one it may receive.

use shield_store::intel::{Reader, StoredObject};

use super::Caller;

/// Decides which callers read through a [`ReadScope`]; runs on the async runtime (quick).
pub trait ReadPolicy: Send + Sync {
    /// The scope `caller` reads with, `None` for the store's TLP rule as the caller.
    fn scope(&self, caller: &Caller) -> Option<std::sync::Arc<dyn ReadScope>>;
}

/// A caller's view of the store as the sharing policy defines it; runs on blocking threads.
pub trait ReadScope: Send + Sync {
    /// The reader queries run as (normally the node itself: the scope filters).
    fn reader(&self) -> Reader;

    /// The versions of `objects` (one page of the collection with id `collection`, with their
    /// JSON) the caller may receive, each with the text that leaves the node. Called once per
    /// page served.
    fn serve(&self, collection: &str, objects: Vec<StoredObject>) -> Vec<StoredObject>;
}
