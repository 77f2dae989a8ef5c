//! The guest's wireless medium: registered with mac80211_hwsim, it receives every frame the
//! radios transmit and hands each to the radios that hear it, by the rules a scenario sets
//! (`roam_testbed::medium::air`). Dropping it closes its socket, and hwsim goes back to its own
//! perfect medium: it runs only for the scenarios that shape the air.
//!
//! One thread, one netlink socket in the initial network namespace (hwsim's radios keep the
//! netgroup of the namespace they were created in, even once moved to the station's). Every
//! frame is answered at once: mac80211 gives up on a frame whose status does not come within
//! half a second, and stations then disconnect. Each status is said again a little later, for a
//! frame hwsim had not yet queued when the first came (`roam_testbed::medium::repeats`).

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    thread::JoinHandle,
    time::Duration,
};

use anyhow::{bail, Context as _, Result};
use netlink_packet_core::{
    NetlinkBuffer, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_REQUEST,
};
use netlink_packet_generic::{
    ctrl::{nlas::GenlCtrlAttrs, GenlCtrl, GenlCtrlCmd},
    GenlMessage,
};
use netlink_sys::{protocols::NETLINK_GENERIC, Socket, SocketAddr};
use roam_proto::MacAddr;
use roam_testbed::medium::{
    air::{Air, Rules},
    repeats::{Repeats, REPEAT_AFTER},
    wire::{HwsimCmd, HwsimMessage, Transmitted, FAMILY},
};

use super::{random::XorShift, system};

/// The medium's receive buffer: a burst of frames must not overflow it (hwsim then drops them).
const RECEIVE_BUFFER: usize = 4 << 20;
/// How often the thread looks at its stop flag while the air is quiet.
const STOP_POLL: Duration = Duration::from_millis(100);
/// How late a repeated status may go out, while some wait.
const REPEAT_POLL: Duration = Duration::from_millis(10);

/// The running medium; dropping it stops it.
pub struct Medium {
    rules: Arc<Mutex<Rules>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Medium {
    /// Registers as the medium of `radios` (their hwsim addresses) and starts carrying frames.
    pub fn start(radios: Vec<MacAddr>) -> Result<Medium> {
        let mut link = Link::open()?;
        link.register()?;
        let rules = Arc::new(Mutex::new(Rules::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (rules, stop) = (rules.clone(), stop.clone());
            std::thread::Builder::new().name("medium".into()).spawn(move || {
                if let Err(err) = link.carry(Air::new(radios), &rules, &stop) {
                    system::progress(format!("warning: the medium stopped: {err:#}"));
                }
            })?
        };
        Ok(Medium { rules, stop, thread: Some(thread) })
    }

    /// Changes the rules; frames from now on follow the new ones.
    pub fn update(&self, change: impl FnOnce(&mut Rules)) {
        change(&mut self.rules.lock().expect("medium rules"));
    }
}

impl Drop for Medium {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The hwsim address of a radio whose first interface has `iface_mac` (hwsim gives that
/// interface `addresses[0]`, and names the radio by `addresses[1]`, the same with 0x40 set).
pub fn radio_address(iface_mac: &str) -> Result<MacAddr> {
    let mut mac: MacAddr =
        iface_mac.parse().with_context(|| format!("{iface_mac:?} is not a MAC address"))?;
    mac.0[0] |= 0x40;
    Ok(mac)
}

/// The netlink socket the medium registered with.
struct Link {
    socket: Socket,
    family: u16,
    sequence: u32,
}

impl Link {
    fn open() -> Result<Link> {
        let mut socket =
            Socket::new(NETLINK_GENERIC).context("opening a generic netlink socket")?;
        socket.bind_auto().context("binding the netlink socket")?;
        socket.set_rx_buf_sz(RECEIVE_BUFFER).context("sizing the netlink receive buffer")?;
        set_receive_timeout(&socket, STOP_POLL)?;
        let mut link = Link { socket, family: 0, sequence: 0 };
        link.family = link.resolve_family()?;
        Ok(link)
    }

    fn resolve_family(&mut self) -> Result<u16> {
        let request = GenlMessage::from_payload(GenlCtrl {
            cmd: GenlCtrlCmd::GetFamily,
            nlas: vec![GenlCtrlAttrs::FamilyName(FAMILY.to_owned())],
        });
        self.send(request, NLM_F_REQUEST)?;
        let mut buffer = vec![0u8; 64 << 10];
        let len = self.socket.recv(&mut &mut buffer[..], 0).context("resolving hwsim's family")?;
        let reply = NetlinkMessage::<GenlMessage<GenlCtrl>>::deserialize(&buffer[..len])
            .context("reading the family resolution")?;
        match reply.payload {
            NetlinkPayload::InnerMessage(genl) => genl
                .payload
                .nlas
                .iter()
                .find_map(|nla| match nla {
                    GenlCtrlAttrs::FamilyId(id) => Some(*id),
                    _ => None,
                })
                .context("the family resolution carries no id"),
            NetlinkPayload::Error(err) => {
                bail!("{FAMILY} is not there ({err:?}): is mac80211_hwsim loaded?")
            }
            other => bail!("unexpected answer to the family resolution: {other:?}"),
        }
    }

    fn register(&mut self) -> Result<()> {
        let mut message = GenlMessage::from_payload(HwsimMessage::register());
        message.set_resolved_family_id(self.family);
        self.send(message, NLM_F_REQUEST | NLM_F_ACK)?;
        let mut buffer = vec![0u8; 64 << 10];
        let len = self.socket.recv(&mut &mut buffer[..], 0).context("registering as the medium")?;
        let reply = NetlinkMessage::<GenlMessage<HwsimMessage>>::deserialize(&buffer[..len])
            .context("reading the registration's answer")?;
        match reply.payload {
            NetlinkPayload::Error(err) if err.code.is_none() => Ok(()),
            NetlinkPayload::Error(err) => bail!(
                "hwsim refused the medium ({err:?}): another medium runs, or a radio has more \
                 than one channel"
            ),
            other => bail!("unexpected answer to the registration: {other:?}"),
        }
    }

    /// Carries frames until `stop` is set, then answers what is still queued.
    fn carry(&mut self, mut air: Air, rules: &Mutex<Rules>, stop: &AtomicBool) -> Result<()> {
        let mut random = XorShift::seeded();
        let mut buffer = vec![0u8; RECEIVE_BUFFER];
        let mut repeats: Repeats<HwsimMessage> = Repeats::new(&REPEAT_AFTER);
        let mut waiting_for_repeats = false;
        while !stop.load(Ordering::Relaxed) {
            // Wake for the repeats that come due while the air is quiet.
            let repeats_waiting = !repeats.is_empty();
            if repeats_waiting != waiting_for_repeats {
                waiting_for_repeats = repeats_waiting;
                let wait = if waiting_for_repeats { REPEAT_POLL } else { STOP_POLL };
                set_receive_timeout(&self.socket, wait)?;
            }
            for status in repeats.due(system::monotonic_ns()) {
                self.send_hwsim(status)?;
            }
            let len = match self.socket.recv(&mut &mut buffer[..], 0) {
                Ok(len) => len,
                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                // The receive buffer overflowed: frames were lost, as on a busy air.
                Err(err) if err.raw_os_error() == Some(libc::ENOBUFS) => continue,
                Err(err) => return Err(err).context("receiving from hwsim"),
            };
            self.carry_datagram(&buffer[..len], &mut air, rules, &mut random, &mut repeats)?;
        }
        // Frames hwsim handed over but nobody answered would wait in its queue for minutes.
        while let Ok(len) = self.socket.recv(&mut &mut buffer[..], libc::MSG_DONTWAIT) {
            self.carry_datagram(&buffer[..len], &mut air, rules, &mut random, &mut repeats)?;
        }
        for status in repeats.all() {
            self.send_hwsim(status)?;
        }
        Ok(())
    }

    /// Carries the frames in one datagram from hwsim: a status to each transmitter (said again
    /// later, see [`Repeats`]) and a copy to each radio that hears it.
    fn carry_datagram(
        &mut self,
        datagram: &[u8],
        air: &mut Air,
        rules: &Mutex<Rules>,
        random: &mut XorShift,
        repeats: &mut Repeats<HwsimMessage>,
    ) -> Result<()> {
        let len = datagram.len();
        let mut at = 0;
        while at < len {
            let Ok(header) = NetlinkBuffer::new_checked(&datagram[at..len]) else { break };
            let message_len = (header.length() as usize).max(16);
            let bytes = &datagram[at..(at + message_len).min(len)];
            at += (message_len + 3) & !3;
            // Errors (a delivery the kernel refused: the receiver off the channel; a repeated
            // status it had already taken) need nothing: the kernel sends one for each.
            let Ok(message) = NetlinkMessage::<GenlMessage<HwsimMessage>>::deserialize(bytes)
            else {
                continue;
            };
            let NetlinkPayload::InnerMessage(genl) = message.payload else { continue };
            let hwsim = genl.payload;
            if hwsim.cmd == HwsimCmd::AddMacAddr {
                learn_interface(air, &hwsim);
                continue;
            }
            let Some(tx) = Transmitted::of(&hwsim) else { continue };
            let now_ns = system::monotonic_ns();
            let outcome = {
                let rules = rules.lock().expect("medium rules");
                air.transmit(&tx, &rules, now_ns, &mut || random.next())
            };
            let status = tx.status(outcome.acked, outcome.tx_info, outcome.ack_signal_dbm);
            repeats.sent(now_ns, &status);
            self.send_hwsim(status)?;
            for (receiver, dbm) in outcome.deliveries {
                self.send_hwsim(tx.delivery(receiver, dbm))?;
            }
        }
        Ok(())
    }

    fn send_hwsim(&mut self, message: HwsimMessage) -> Result<()> {
        let mut genl = GenlMessage::from_payload(message);
        genl.set_resolved_family_id(self.family);
        self.send(genl, NLM_F_REQUEST)
    }

    fn send<F>(&mut self, genl: GenlMessage<F>, flags: u16) -> Result<()>
    where
        F: std::fmt::Debug,
        GenlMessage<F>: netlink_packet_core::NetlinkSerializable,
    {
        let mut message = NetlinkMessage::from(genl);
        self.sequence = self.sequence.wrapping_add(1);
        message.header.flags = flags;
        message.header.sequence_number = self.sequence;
        message.finalize();
        let mut bytes = vec![0u8; message.buffer_len()];
        message.serialize(&mut bytes);
        self.socket.send_to(&bytes, &SocketAddr::new(0, 0), 0).context("sending to hwsim")?;
        Ok(())
    }
}

/// An interface came up on a radio while the medium ran: its address names that radio.
fn learn_interface(air: &mut Air, message: &HwsimMessage) {
    use roam_testbed::medium::wire::HwsimAttr;
    let (mut radio, mut address) = (None, None);
    for attr in &message.attrs {
        match attr {
            HwsimAttr::AddrTransmitter(mac) => radio = Some(*mac),
            HwsimAttr::AddrReceiver(mac) => address = Some(*mac),
            _ => {}
        }
    }
    if let (Some(radio), Some(address)) = (radio, address) {
        air.interface_up(radio, address);
    }
}

fn set_receive_timeout(socket: &Socket, timeout: Duration) -> Result<()> {
    socket2::SockRef::from(socket)
        .set_read_timeout(Some(timeout))
        .context("setting the medium's receive timeout")
}
