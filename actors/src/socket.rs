//! `ClientSocket`: a second handle on a client's TCP socket, so the engine
//! can end a connection whose peer stopped reading. Such a session cannot
//! close itself: actix only polls it when its socket takes more bytes.

use std::sync::Arc;
use std::time::Duration;

/// Cheap to clone; the duplicate descriptor closes with the last clone.
#[derive(Clone, Debug)]
pub struct ClientSocket(Arc<socket2::Socket>);

impl ClientSocket {
    /// Duplicates the accepted socket's descriptor (a dup, not the raw
    /// number: a number could be reused by another connection after this
    /// one closes, a dup cannot).
    #[cfg(unix)]
    pub fn of(tcp: &actix_web::rt::net::TcpStream) -> std::io::Result<Self> {
        use std::os::fd::AsFd;
        let fd = tcp.as_fd().try_clone_to_owned()?;
        Ok(ClientSocket(Arc::new(socket2::Socket::from(fd))))
    }

    #[cfg(not(unix))]
    pub fn of(_: &actix_web::rt::net::TcpStream) -> std::io::Result<Self> {
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "socket handles are only kept on unix",
        ))
    }

    /// Ends the connection now: the server side sees end-of-stream and
    /// drops the session, and the peer gets a reset instead of a socket
    /// buffer of frames it will never read.
    pub fn reset(&self) {
        if let Err(e) = self.0.set_linger(Some(Duration::ZERO)) {
            tracing::debug!(error = %e, "cannot set SO_LINGER before reset");
        }
        if let Err(e) = self.0.shutdown(std::net::Shutdown::Both) {
            tracing::debug!(error = %e, "socket already closed");
        }
    }
}
