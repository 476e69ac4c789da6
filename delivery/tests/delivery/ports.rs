//! Ports for tests that need a connection refused (shared by the `delivery` and `email`
//! test binaries).
#![allow(
    clippy::expect_used,
    reason = "test set-up: a failed setup is a failed test"
)]

/// A loopback port nothing listens on, for the whole test process: bound with
/// `SO_REUSEADDR` and never put in the listening state, so connecting is refused and the
/// kernel gives the port to no other test's peer meanwhile (a port bound and released
/// could be handed out again and answer).
pub fn closed_port() -> u16 {
    static HELD: std::sync::Mutex<Vec<socket2::Socket>> = std::sync::Mutex::new(Vec::new());
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    socket.set_reuse_address(true).expect("SO_REUSEADDR");
    let any: std::net::SocketAddr = "127.0.0.1:0".parse().expect("address");
    socket.bind(&any.into()).expect("bind");
    let port = socket
        .local_addr()
        .expect("addr")
        .as_socket()
        .expect("inet")
        .port();
    HELD.lock().expect("lock").push(socket);
    port
}
