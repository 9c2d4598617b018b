//! The switch's side of one dialog (RFC 3261 §12): identifiers, route set,
//! remote target, sequence numbers and where its requests go; and building
//! the requests the switch originates in it (§12.2.1.1).

use std::net::{IpAddr, SocketAddr};

use sb_sip_message::{
    Branch, ByteStr, CallId, Destination, HeaderName, Host, Method, Request, Response, Tag,
    Transport, Uri, WriteSip, push_u32,
};

/// The address the switch puts in its Via and Contact on one leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LocalAddr {
    pub(crate) transport: Transport,
    pub(crate) addr: SocketAddr,
}

impl LocalAddr {
    /// The address for messages to `dest`: the local socket it goes out of,
    /// or, when that is a wildcard address, the first of `local_ips` of the
    /// same family (then any) with the socket's port.
    pub(crate) fn for_destination(dest: &Destination, local_ips: &[IpAddr]) -> LocalAddr {
        let port = dest
            .local
            .map_or(dest.transport.default_port(), |l| l.port());
        let ip = match dest.local.map(|l| l.ip()) {
            Some(ip) if !ip.is_unspecified() => ip,
            _ => local_ips
                .iter()
                .find(|ip| ip.is_ipv4() == dest.remote.is_ipv4())
                .or(local_ips.first())
                .copied()
                .unwrap_or(dest.local.map_or(IpAddr::from([127, 0, 0, 1]), |l| l.ip())),
        };
        LocalAddr {
            transport: dest.transport,
            addr: SocketAddr::new(ip, port),
        }
    }

    fn push_host_port(&self, out: &mut String) {
        let host = match self.addr.ip() {
            IpAddr::V4(a) => Host::Ipv4(a),
            IpAddr::V6(a) => Host::Ipv6(a),
        };
        host.write_to(out);
        out.push(':');
        push_u32(out, u32::from(self.addr.port()));
    }

    /// `SIP/2.0/<T> host:port;branch=…;rport`.
    pub(crate) fn via(&self, branch: &Branch) -> ByteStr {
        let mut out = String::with_capacity(80);
        out.push_str("SIP/2.0/");
        out.push_str(self.transport.as_str());
        out.push(' ');
        self.push_host_port(&mut out);
        out.push_str(";branch=");
        out.push_str(branch.as_str());
        out.push_str(";rport");
        ByteStr::from(out)
    }

    /// `<sip:host:port>` with `;transport=` for transports other than UDP.
    pub(crate) fn contact(&self) -> ByteStr {
        self.contact_with_user("")
    }

    /// `<sip:user@host:port>` (no user part when `user` is empty) with
    /// `;transport=` for transports other than UDP.
    pub(crate) fn contact_with_user(&self, user: &str) -> ByteStr {
        let mut out = String::with_capacity(48 + user.len());
        out.push_str("<sip:");
        if !user.is_empty() {
            crate::trunk::push_escaped_user(&mut out, user);
            out.push('@');
        }
        self.push_host_port(&mut out);
        if self.transport != Transport::Udp {
            out.push_str(";transport=");
            for c in self.transport.as_str().chars() {
                out.push(c.to_ascii_lowercase());
            }
        }
        out.push('>');
        ByteStr::from(out)
    }
}

/// One dialog as the switch holds it.
#[derive(Debug, Clone)]
pub(crate) struct Dialog {
    pub(crate) call_id: CallId,
    pub(crate) local_tag: Tag,
    /// The peer's tag, once known (a response with a To tag on the callee
    /// side; the From tag on the caller side).
    pub(crate) remote_tag: Option<Tag>,
    /// Our From (or To) value, with our tag.
    pub(crate) local: ByteStr,
    /// The peer's value, with its tag once known.
    pub(crate) remote: ByteStr,
    /// Where requests are addressed (the peer's Contact URI).
    pub(crate) remote_target: Uri,
    /// Route header values, in the order they are written.
    pub(crate) route_set: Vec<ByteStr>,
    /// The last CSeq number used by the switch.
    pub(crate) local_cseq: u32,
    /// The last CSeq number received from the peer.
    pub(crate) remote_cseq: Option<u32>,
    /// Where requests of the dialog are sent: the address the peer's
    /// messages come from (its registration's source for a callee), so that
    /// devices behind NAT are reached.
    pub(crate) dest: Destination,
    /// Our Via/Contact address on this leg.
    pub(crate) local_addr: LocalAddr,
    /// Our Contact value on this leg.
    pub(crate) contact: ByteStr,
    /// The last ACK sent for a 2xx, resent when the 2xx is retransmitted.
    pub(crate) last_ack: Option<Request>,
}

impl Dialog {
    /// Whether an in-dialog request's From tag is the peer's.
    pub(crate) fn is_from_peer(&self, from_tag: Option<&Tag>) -> bool {
        match (&self.remote_tag, from_tag) {
            (Some(ours), Some(theirs)) => ours == theirs,
            (None, _) => false,
            (Some(_), None) => false,
        }
    }

    /// A new request in the dialog (RFC 3261 §12.2.1.1): Request-URI is the
    /// remote target, Route the route set, the next CSeq number (`cseq`
    /// given for ACK and CANCEL, which reuse the INVITE's).
    pub(crate) fn request(
        &mut self,
        method: Method,
        branch: &Branch,
        max_forwards: u32,
        cseq: Option<u32>,
    ) -> Request {
        let seq = match cseq {
            Some(n) => n,
            None => {
                self.local_cseq += 1;
                self.local_cseq
            }
        };
        let mut request = Request::new(method, self.remote_target.clone());
        let h = &mut request.headers;
        h.push(HeaderName::Via, self.local_addr.via(branch));
        h.push(HeaderName::MaxForwards, number(max_forwards));
        for route in &self.route_set {
            h.push(HeaderName::Route, route.clone());
        }
        h.push(HeaderName::From, self.local.clone());
        h.push(HeaderName::To, self.remote.clone());
        h.push(HeaderName::CallId, self.call_id.0.clone());
        let mut cseq_text = String::with_capacity(20);
        push_u32(&mut cseq_text, seq);
        cseq_text.push(' ');
        cseq_text.push_str(request.method.as_str());
        h.push(HeaderName::CSeq, cseq_text);
        if matches!(request.method, Method::Invite | Method::Update) {
            h.push(HeaderName::Contact, self.contact.clone());
        }
        request
    }

    /// Learns from a response of the peer to a request the switch sent in
    /// this dialog: the peer's tag (and To value) from a response that
    /// carries one, the remote target from a Contact, and — for the response
    /// that establishes the dialog — the route set from Record-Route,
    /// reversed (RFC 3261 §12.1.2).
    pub(crate) fn update_from_response(&mut self, response: &Response, establishing: bool) {
        if establishing
            && let Some(to) = response.headers.get(&HeaderName::To)
            && let Ok(addr) = response.headers.to_addr()
            && let Some(tag) = addr.tag()
        {
            self.remote_tag = Some(tag);
            self.remote = to.clone();
            let rr: Vec<ByteStr> = response
                .headers
                .get_all(&HeaderName::RecordRoute)
                .cloned()
                .collect();
            if !rr.is_empty() {
                self.route_set = rr.into_iter().rev().collect();
            }
        }
        if let Some(Ok(contact)) = response.headers.contacts().next() {
            self.refresh_target(&contact);
        }
    }

    /// A target refresh (RFC 3261 §12.2.1.2, §12.2.2) from the first Contact.
    pub(crate) fn refresh_target(&mut self, contact: &sb_sip_message::Contact) {
        if let Some(addr) = contact.addr() {
            self.remote_target = addr.uri.clone();
        }
    }
}

/// A number as header text.
pub(crate) fn number(n: u32) -> ByteStr {
    let mut s = String::with_capacity(10);
    push_u32(&mut s, n);
    ByteStr::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_addresses_and_their_text() {
        let dest = Destination {
            transport: Transport::Tcp,
            remote: "192.0.2.50:40000".parse().unwrap(),
            flow: None,
            local: Some("0.0.0.0:5060".parse().unwrap()),
        };
        let ips = [
            "2001:db8::10".parse().unwrap(),
            "192.0.2.10".parse().unwrap(),
        ];
        let local = LocalAddr::for_destination(&dest, &ips);
        assert_eq!(local.addr, "192.0.2.10:5060".parse().unwrap());
        assert_eq!(local.contact(), "<sip:192.0.2.10:5060;transport=tcp>");
        assert_eq!(
            local.via(&Branch::from("z9hG4bKx")),
            "SIP/2.0/TCP 192.0.2.10:5060;branch=z9hG4bKx;rport"
        );
        let v6 = Destination {
            transport: Transport::Udp,
            remote: "[2001:db8::50]:5060".parse().unwrap(),
            flow: None,
            local: Some("[2001:db8::10]:5062".parse().unwrap()),
        };
        let local = LocalAddr::for_destination(&v6, &ips);
        assert_eq!(local.contact(), "<sip:[2001:db8::10]:5062>");
    }
}
