//! Asking the AP whether it is there: a small frame addressed to it, and the 802.11
//! acknowledgement mac80211 reports back for it (`SO_WIFI_STATUS`).
//!
//! The frame: an AF_PACKET datagram to the AP's own address with an IEEE 802 local experimental
//! ethertype. The AP's radio acknowledges it like any frame addressed to it, then drops it (no
//! protocol takes it): nothing leaves the AP, nothing answers, no IP configuration is needed.
//! mac80211 keeps a copy of every frame sent from a socket with `SO_WIFI_STATUS` and queues it
//! on the socket's error queue with the result: acknowledged, or not (the hardware's retries
//! all went unanswered). A frame the stack drops (the port is closing, the queues are purged)
//! gets no report at all; [`roam_common::policy::liveness`] treats that as no evidence.

use std::{
    io,
    mem::MaybeUninit,
    os::fd::{AsFd as _, AsRawFd as _, BorrowedFd},
};

use anyhow::{Context as _, Result};
use roam_common::MacAddr;
use socket2::{MaybeUninitSlice, MsgHdrMut, Socket, Type};
use tokio::io::{unix::AsyncFd, Interest};

use crate::netif;

/// IEEE 802 Local Experimental Ethertype 1: for a frame nobody is meant to process.
pub const PROBE_ETHERTYPE: u16 = 0x88b5;
/// Marks the payload as roam's, before the probe's id.
const MAGIC: [u8; 4] = *b"roam";
/// Ethernet header the kernel puts before the payload in an error-queue report.
const ETH_HEADER: usize = 14;
const PAYLOAD: usize = MAGIC.len() + 8;
/// `SO_PRIORITY` of the probes: 802.1d priority 6 (256 + n selects priority n directly), the
/// voice access category, so a probe does not queue behind the station's bulk traffic.
const VOICE_PRIORITY: u32 = 256 + 6;

/// The report of one probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AckReport {
    pub id: u64,
    pub acked: bool,
}

/// The probe socket of one station interface.
pub struct AckProber {
    socket: AsyncFd<Socket>,
    ifindex: u32,
}

impl AckProber {
    /// Opens the probe socket on `ifindex` (`iface` names it in errors). Needs CAP_NET_RAW.
    pub fn new(ifindex: u32, iface: &str) -> Result<Self> {
        // Protocol 0: the socket receives nothing; it only sends, and reads its error queue.
        let socket = netif::packet_socket(Type::DGRAM)
            .context("opening the acknowledgement probe socket (needs CAP_NET_RAW)")?;
        ask_for_wifi_status(socket.as_fd())
            .with_context(|| format!("asking for 802.11 acknowledgement reports on {iface}"))?;
        // Best effort: without it probes share the best-effort queue, which only delays them.
        let _ = socket.set_priority(VOICE_PRIORITY);
        // Reports only raise EPOLLERR: wait on that, not on readability.
        // SAFETY: the AsyncFd owns the socket, so its descriptor stays open while registered.
        let socket = unsafe { AsyncFd::register_with_interest(socket, Interest::ERROR) }
            .map_err(|e| e.into_parts().1)
            .context("registering the acknowledgement probe socket")?;
        Ok(Self { socket, ifindex })
    }

    /// Sends probe `id` to `ap`.
    pub fn send(&self, ap: MacAddr, id: u64) -> io::Result<()> {
        let to = netif::link_address(self.ifindex, PROBE_ETHERTYPE, ap);
        self.socket.get_ref().send_to(&payload(id), &to).map(drop)
    }

    /// The next report. Cancel-safe: a report is taken from the queue only when returned.
    pub async fn next_report(&self) -> io::Result<AckReport> {
        loop {
            let mut ready = self.socket.ready(Interest::ERROR).await?;
            match self.try_report() {
                Ok(Some(report)) => return Ok(report),
                // Not a probe of ours (or not a report): look at the next one.
                Ok(None) => continue,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => ready.clear_ready(),
                Err(err) => return Err(err),
            }
        }
    }

    /// One entry of the error queue, if it is a report of a probe of ours.
    fn try_report(&self) -> io::Result<Option<AckReport>> {
        let mut frame = [MaybeUninit::<u8>::uninit(); ETH_HEADER + PAYLOAD];
        // Room for the two control messages: SCM_WIFI_STATUS (an int) and the extended error.
        let mut control = [MaybeUninit::<u8>::uninit(); 128];
        let mut buffers = [MaybeUninitSlice::new(&mut frame)];
        let mut msg = MsgHdrMut::new().with_buffers(&mut buffers).with_control(&mut control);
        let len =
            self.socket.get_ref().recvmsg(&mut msg, libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT)?;
        let control_len = msg.control_len();
        // SAFETY: recvmsg initialised the first `len` bytes of the frame (at most its size)
        // and the first `control_len` bytes of the control buffer.
        let (frame, control) =
            unsafe { (initialised(&frame, len), initialised(&control, control_len)) };
        Ok(parse_report(frame, wifi_status(control)))
    }
}

/// The first `len` bytes of `buffer`, which the caller knows are initialised.
///
/// # Safety
/// `buffer[..len.min(buffer.len())]` must be initialised.
unsafe fn initialised(buffer: &[MaybeUninit<u8>], len: usize) -> &[u8] {
    let len = len.min(buffer.len());
    // SAFETY: the caller guarantees these bytes are initialised; MaybeUninit<u8> has u8's layout.
    unsafe { std::slice::from_raw_parts(buffer.as_ptr().cast::<u8>(), len) }
}

/// `SO_WIFI_STATUS`: mac80211 reports each frame's acknowledgement on the error queue. (Not
/// among socket2's options.)
fn ask_for_wifi_status(socket: BorrowedFd<'_>) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: `on` is an int, valid for the length passed; the descriptor is open.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_WIFI_STATUS,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The probe's payload: the magic, then its id.
fn payload(id: u64) -> [u8; PAYLOAD] {
    let mut payload = [0u8; PAYLOAD];
    payload[..MAGIC.len()].copy_from_slice(&MAGIC);
    payload[MAGIC.len()..].copy_from_slice(&id.to_be_bytes());
    payload
}

/// A report from a returned frame (Ethernet header, then our payload) and its
/// `SCM_WIFI_STATUS`. Pure.
fn parse_report(frame: &[u8], wifi_status: Option<libc::c_int>) -> Option<AckReport> {
    let acked = wifi_status? != 0;
    let ethertype = u16::from_be_bytes(frame.get(12..14)?.try_into().ok()?);
    let payload = frame.get(ETH_HEADER..ETH_HEADER + PAYLOAD)?;
    if ethertype != PROBE_ETHERTYPE || payload[..MAGIC.len()] != MAGIC {
        return None;
    }
    let id = u64::from_be_bytes(payload[MAGIC.len()..].try_into().ok()?);
    Some(AckReport { id, acked })
}

/// The `SOL_SOCKET/SCM_WIFI_STATUS` value among a message's control messages (`cmsghdr`s, each
/// `cmsg_len`, `cmsg_level`, `cmsg_type`, then its data, aligned to `usize`). Pure.
fn wifi_status(control: &[u8]) -> Option<libc::c_int> {
    const WORD: usize = std::mem::size_of::<usize>();
    const HEADER: usize = WORD + 2 * std::mem::size_of::<libc::c_int>();
    let int = |bytes: &[u8]| Some(libc::c_int::from_ne_bytes(bytes.try_into().ok()?));
    let mut at = 0;
    while at + HEADER <= control.len() {
        let len = usize::from_ne_bytes(control[at..at + WORD].try_into().ok()?);
        let level = int(&control[at + WORD..at + WORD + 4])?;
        let kind = int(&control[at + WORD + 4..at + HEADER])?;
        if len < HEADER {
            return None;
        }
        if level == libc::SOL_SOCKET && kind == libc::SCM_WIFI_STATUS {
            return int(control.get(at + HEADER..at + HEADER + 4)?);
        }
        at += len.next_multiple_of(WORD);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The frame as the error queue returns it: destination, source, ethertype, payload.
    fn returned(ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mut frame = vec![2, 0, 0, 0, 1, 0, 2, 0, 0, 0, 2, 0];
        frame.extend_from_slice(&ethertype.to_be_bytes());
        frame.extend_from_slice(payload);
        frame
    }

    #[test]
    fn a_report_names_its_probe_and_its_result() {
        let frame = returned(PROBE_ETHERTYPE, &payload(0x0102_0304_0506_0708));
        assert_eq!(
            parse_report(&frame, Some(1)),
            Some(AckReport { id: 0x0102_0304_0506_0708, acked: true })
        );
        assert_eq!(
            parse_report(&frame, Some(0)),
            Some(AckReport { id: 0x0102_0304_0506_0708, acked: false })
        );
    }

    /// A control message as the kernel lays it out.
    fn cmsg(level: libc::c_int, kind: libc::c_int, data: &[u8]) -> Vec<u8> {
        let header = std::mem::size_of::<usize>() + 8;
        let mut out = (header + data.len()).to_ne_bytes().to_vec();
        out.extend(level.to_ne_bytes());
        out.extend(kind.to_ne_bytes());
        out.extend(data);
        out.resize(out.len().next_multiple_of(std::mem::size_of::<usize>()), 0);
        out
    }

    #[test]
    fn the_wifi_status_is_found_among_the_control_messages() {
        let extended_error = cmsg(libc::SOL_PACKET, libc::PACKET_TX_TIMESTAMP, &[0; 16]);
        let status = cmsg(libc::SOL_SOCKET, libc::SCM_WIFI_STATUS, &1i32.to_ne_bytes());
        assert_eq!(wifi_status(&[extended_error.clone(), status].concat()), Some(1));
        let not_acked = cmsg(libc::SOL_SOCKET, libc::SCM_WIFI_STATUS, &0i32.to_ne_bytes());
        assert_eq!(wifi_status(&not_acked), Some(0));
        assert_eq!(wifi_status(&extended_error), None);
        assert_eq!(wifi_status(&[]), None);
        // A header claiming less than itself ends the walk.
        let mut broken = not_acked;
        broken[..std::mem::size_of::<usize>()].copy_from_slice(&1usize.to_ne_bytes());
        assert_eq!(wifi_status(&broken), None);
    }

    #[test]
    fn what_is_not_a_report_of_ours_is_none() {
        let ours = payload(7);
        // No SCM_WIFI_STATUS: some other error-queue entry.
        assert_eq!(parse_report(&returned(PROBE_ETHERTYPE, &ours), None), None);
        // Another ethertype, another magic, a truncated frame.
        assert_eq!(parse_report(&returned(0x0800, &ours), Some(1)), None);
        let mut foreign = ours;
        foreign[0] = b'x';
        assert_eq!(parse_report(&returned(PROBE_ETHERTYPE, &foreign), Some(1)), None);
        assert_eq!(parse_report(&returned(PROBE_ETHERTYPE, &ours[..6]), Some(1)), None);
    }
}
