//! The configuration directory of one baresip process: its `config` and
//! `accounts` files.

use std::net::SocketAddr;

/// How a phone is set up.
#[derive(Debug, Clone)]
pub struct BaresipConfig {
    pub(super) name: String,
    registration: Option<Registration>,
}

#[derive(Debug, Clone)]
struct Registration {
    user: String,
    domain: String,
    password: String,
    server: SocketAddr,
    tcp: bool,
}

impl BaresipConfig {
    /// A phone that registers nowhere; its address of record is
    /// `sip:NAME@127.0.0.1:PORT` and peers dial it with [`Baresip::direct_uri`].
    pub fn peer(name: &str) -> BaresipConfig {
        BaresipConfig {
            name: name.to_owned(),
            registration: None,
        }
    }

    /// A phone with the account `sip:USER@DOMAIN` that registers to `server`
    /// over UDP and sends every request there (outbound proxy).
    pub fn registered(
        user: &str,
        domain: &str,
        password: &str,
        server: SocketAddr,
    ) -> BaresipConfig {
        BaresipConfig {
            name: user.to_owned(),
            registration: Some(Registration {
                user: user.to_owned(),
                domain: domain.to_owned(),
                password: password.to_owned(),
                server,
                tcp: false,
            }),
        }
    }

    /// Uses TCP towards the server instead of UDP.
    pub fn tcp(mut self) -> BaresipConfig {
        if let Some(r) = self.registration.as_mut() {
            r.tcp = true;
        }
        self
    }

    pub(super) fn account_line(&self, sip: u16) -> String {
        match &self.registration {
            None => format!(
                "<sip:{}@127.0.0.1:{sip}>;regint=0;audio_codecs=pcmu\n",
                self.name
            ),
            Some(r) => format!(
                "<sip:{}@{}>;auth_pass={};outbound=\"sip:{};transport={}\";regint=600;\
                 audio_codecs=pcmu\n",
                r.user,
                r.domain,
                r.password,
                r.server,
                if r.tcp { "tcp" } else { "udp" }
            ),
        }
    }

    pub(super) fn config_text(&self, sip: u16, ctrl: u16) -> String {
        let name = &self.name;
        format!(
            "poll_method epoll\n\
             sip_listen 127.0.0.1:{sip}\n\
             net_interface 127.0.0.1\n\
             dns_server 127.0.0.1:53\n\
             call_local_timeout 120\n\
             call_max_calls 4\n\
             audio_path /usr/share/baresip\n\
             audio_player aubridge,{name}-play\n\
             audio_alert aubridge,{name}-alert\n\
             audio_source ausine,440\n\
             ausrc_srate 48000\n\
             ausrc_channels 2\n\
             rtp_stats yes\n\
             statmode_default off\n\
             module_path /usr/lib/baresip/modules\n\
             module g711.so\n\
             module ausine.so\n\
             module aufile.so\n\
             module aubridge.so\n\
             module_tmp account.so\n\
             module_app menu.so\n\
             module_app ctrl_tcp.so\n\
             ctrl_tcp_listen 127.0.0.1:{ctrl}\n"
        )
    }
}
