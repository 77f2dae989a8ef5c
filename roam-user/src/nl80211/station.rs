//! The station's own view of its AP (NL80211_CMD_GET_STATION on a managed interface): the
//! signal the driver measures, which every driver reports whether or not a monitor interface
//! hears the AP's beacons (iwlwifi and mt7921 filter them in firmware).

use wl_nl80211::{Nl80211Attr, Nl80211Message, Nl80211StationInfo};

use super::client::{iface_label, Nl80211};
use super::error::{Op, Result};
use super::messages;
use roam_common::MacAddr;

/// What the driver says of the link to the AP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StationSignal {
    /// The AP (the interface's one station entry in managed mode).
    pub peer: MacAddr,
    /// Its smoothed signal, dBm: the beacons' average where the driver keeps one, else the
    /// average of every frame.
    pub dbm: i32,
}

impl Nl80211 {
    /// The smoothed signal of the AP interface `ifindex` is associated with; none when it is
    /// not associated, or the driver reports no average.
    pub async fn station_signal(&self, ifindex: u32) -> Result<Option<StationSignal>> {
        let label = iface_label(ifindex);
        let replies = self.dump(messages::get_station(ifindex), Op::GetStation, &label).await?;
        Ok(replies.messages.iter().find_map(station_signal))
    }
}

/// The signal in one GET_STATION reply. Pure.
pub(crate) fn station_signal(message: &Nl80211Message) -> Option<StationSignal> {
    let peer = message.attributes.iter().find_map(|attr| match attr {
        Nl80211Attr::Mac(mac) => Some(MacAddr(*mac)),
        _ => None,
    })?;
    let info = message.attributes.iter().find_map(|attr| match attr {
        Nl80211Attr::StationInfo(info) => Some(info),
        _ => None,
    })?;
    let find = |want: fn(&Nl80211StationInfo) -> Option<i8>| info.iter().find_map(want);
    let beacons = find(|i| match i {
        Nl80211StationInfo::BeaconSignalAvg(dbm) => Some(*dbm),
        _ => None,
    });
    let frames = find(|i| match i {
        Nl80211StationInfo::SignalAvg(dbm) => Some(*dbm),
        _ => None,
    });
    // 0 means "no sample yet" to some drivers.
    let dbm = beacons.filter(|d| *d != 0).or(frames.filter(|d| *d != 0))?;
    Some(StationSignal { peer, dbm: i32::from(dbm) })
}

#[cfg(test)]
mod tests {
    use wl_nl80211::Nl80211Command;

    use super::*;

    const AP: [u8; 6] = [2, 0, 0, 0, 1, 0];

    fn reply(info: Vec<Nl80211StationInfo>) -> Nl80211Message {
        Nl80211Message {
            cmd: Nl80211Command::NewStation,
            attributes: vec![
                Nl80211Attr::IfIndex(3),
                Nl80211Attr::Mac(AP),
                Nl80211Attr::StationInfo(info),
            ],
        }
    }

    #[test]
    fn the_beacons_average_is_preferred_then_every_frames() {
        let both = reply(vec![
            Nl80211StationInfo::SignalAvg(-61),
            Nl80211StationInfo::BeaconSignalAvg(-64),
        ]);
        assert_eq!(station_signal(&both), Some(StationSignal { peer: MacAddr(AP), dbm: -64 }));
        let frames_only = reply(vec![Nl80211StationInfo::SignalAvg(-61)]);
        assert_eq!(station_signal(&frames_only).map(|s| s.dbm), Some(-61));
        let no_sample = reply(vec![Nl80211StationInfo::BeaconSignalAvg(0)]);
        assert_eq!(station_signal(&no_sample), None);
        assert_eq!(station_signal(&reply(Vec::new())), None);
    }
}
