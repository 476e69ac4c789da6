//! The HTTP load harness (`load` binary): starts `sae serve` nodes, prepares data through
//! the API and drives scenarios over keep-alive connections; the comparison table puts each
//! figure next to its floor measured in the same run.

pub mod broker;
pub mod conn;
pub mod drive;
pub mod million;
pub mod million_probes;
pub mod postgres;
pub mod scenario;
pub mod server;
pub mod table;
