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
    os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd},
};

use anyhow::{Context as _, Result};
use roam_common::MacAddr;
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
const VOICE_PRIORITY: libc::c_int = 256 + 6;

/// The report of one probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AckReport {
    pub id: u64,
    pub acked: bool,
}

/// The probe socket of one station interface.
pub struct AckProber {
    socket: AsyncFd<OwnedFd>,
    ifindex: u32,
}

impl AckProber {
    /// Opens the probe socket on `ifindex` (`iface` names it in errors). Needs CAP_NET_RAW.
    pub fn new(ifindex: u32, iface: &str) -> Result<Self> {
        // Protocol 0: the socket receives nothing; it only sends, and reads its error queue.
        // SAFETY: plain socket(2); the result is checked and owned right away.
        let fd = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error())
                .context("opening the acknowledgement probe socket (needs CAP_NET_RAW)");
        }
        // SAFETY: the descriptor was just returned by socket(2) and nothing else owns it.
        let socket = unsafe { OwnedFd::from_raw_fd(fd) };
        set_int_option(&socket, libc::SOL_SOCKET, libc::SO_WIFI_STATUS, 1)
            .with_context(|| format!("asking for 802.11 acknowledgement reports on {iface}"))?;
        // Best effort: without it probes share the best-effort queue, which only delays them.
        let _ = set_int_option(&socket, libc::SOL_SOCKET, libc::SO_PRIORITY, VOICE_PRIORITY);
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
        let payload = payload(id);
        // SAFETY: payload and address are valid for the lengths given; the socket is open.
        let sent = unsafe {
            libc::sendto(
                self.socket.get_ref().as_raw_fd(),
                payload.as_ptr().cast(),
                payload.len(),
                0,
                (&to as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
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
        let mut frame = [0u8; ETH_HEADER + PAYLOAD];
        // Room for the two control messages: SCM_WIFI_STATUS (an int) and the extended error.
        let mut control = [0u64; 16];
        let mut iov = libc::iovec { iov_base: frame.as_mut_ptr().cast(), iov_len: frame.len() };
        // SAFETY: msghdr is plain data; zero is a valid starting point.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control);
        // SAFETY: msg points at buffers valid for the lengths it declares.
        let len = unsafe {
            libc::recvmsg(
                self.socket.get_ref().as_raw_fd(),
                &mut msg,
                libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT,
            )
        };
        if len < 0 {
            return Err(io::Error::last_os_error());
        }
        let status = wifi_status(&msg);
        Ok(parse_report(&frame[..(len as usize).min(frame.len())], status))
    }
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

/// The `SOL_SOCKET/SCM_WIFI_STATUS` value among a message's control messages.
fn wifi_status(msg: &libc::msghdr) -> Option<libc::c_int> {
    // SAFETY: msg's control buffer was filled by recvmsg, which set msg_controllen; the CMSG
    // macros walk within it.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_WIFI_STATUS
            {
                let data = libc::CMSG_DATA(cmsg) as *const libc::c_int;
                return Some(data.read_unaligned());
            }
            cmsg = libc::CMSG_NXTHDR(msg, cmsg);
        }
    }
    None
}

fn set_int_option(
    socket: &OwnedFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: value is an int, valid for the length passed.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as u32,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
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
