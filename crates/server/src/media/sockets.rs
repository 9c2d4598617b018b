//! A leg's RTP and RTCP sockets, bound on a port pair from the configured
//! range (RTP even, RTCP the next port), and given back when dropped.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Arc;

use sb_media_engine::LocalPorts;

use super::{MediaMetrics, MediaSettings};

/// Port pairs tried before a leg gives up (others may hold ports of the range).
const BIND_ATTEMPTS: usize = 64;

/// The two sockets of one leg.
#[derive(Debug)]
pub(crate) struct LegSockets {
    pub(crate) rtp: UdpSocket,
    pub(crate) rtcp: UdpSocket,
    pub(crate) ports: LocalPorts,
    settings: Arc<MediaSettings>,
}

impl LegSockets {
    /// Binds a free pair from the range.
    pub(crate) fn bind(settings: &Arc<MediaSettings>) -> std::io::Result<LegSockets> {
        let mut last = None;
        for _ in 0..BIND_ATTEMPTS {
            let port = {
                let mut ports = settings
                    .ports
                    .lock()
                    .expect("the port allocator never panics");
                ports.allocate()
            };
            let Some(port) = port else {
                break;
            };
            match bind_pair(settings.bind, port) {
                Ok((rtp, rtcp)) => {
                    let advertised = settings.negotiator.advertised;
                    return Ok(LegSockets {
                        rtp,
                        rtcp,
                        ports: LocalPorts {
                            rtp: SocketAddr::new(advertised, port),
                            rtcp: SocketAddr::new(advertised, port + 1),
                        },
                        settings: settings.clone(),
                    });
                }
                Err(e) => {
                    MediaMetrics::add(&settings.metrics.bind_failures, 1);
                    settings
                        .ports
                        .lock()
                        .expect("the port allocator never panics")
                        .release(port);
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                "no free RTP port pair in the configured range",
            )
        }))
    }
}

impl Drop for LegSockets {
    fn drop(&mut self) {
        self.settings
            .ports
            .lock()
            .expect("the port allocator never panics")
            .release(self.ports.rtp.port());
    }
}

fn bind_pair(ip: IpAddr, port: u16) -> std::io::Result<(UdpSocket, UdpSocket)> {
    let rtp = UdpSocket::bind(SocketAddr::new(ip, port))?;
    let rtcp = UdpSocket::bind(SocketAddr::new(ip, port + 1))?;
    rtp.set_nonblocking(true)?;
    rtcp.set_nonblocking(true)?;
    Ok((rtp, rtcp))
}
