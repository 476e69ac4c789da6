//! SAE web administration.
//!
//! Empty until the admin-gui issue lands; `sae serve` mounts nothing at `/admin` yet.
#![forbid(unsafe_code)]
