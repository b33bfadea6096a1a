//! The keys that seal personal data at rest live with the storage adapters that use them
//! ([`wujing_store::keys`]); they are re-exported here for the use cases and the binary.

pub use wujing_store::keys::{KeyError, Keyring, Keys};
