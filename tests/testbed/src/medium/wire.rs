//! mac80211_hwsim's generic netlink family (`MAC80211_HWSIM`, version 1) as typed messages:
//! the frames a radio transmits (kernel to medium), their TX status and their delivery to
//! each receiver (medium to kernel). Numbers from `drivers/net/wireless/mac80211_hwsim.h`.

use netlink_packet_core::{
    emit_u32, emit_u64, parse_u32, parse_u64, DecodeError, DefaultNla, Emitable, Nla, NlaBuffer,
    NlasIterator, Parseable, ParseableParametrized,
};
use netlink_packet_generic::{GenlFamily, GenlHeader};
use roam_proto::MacAddr;

pub const FAMILY: &str = "MAC80211_HWSIM";
const VERSION: u8 = 1;

/// `HWSIM_CMD_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HwsimCmd {
    /// Makes the sender the medium of its network namespace's radios.
    Register,
    /// A radio transmits (kernel to medium), or a radio receives (medium to kernel).
    Frame,
    /// The TX status of a transmitted frame (medium to kernel).
    TxInfoFrame,
    /// A virtual interface came up on a radio (kernel to medium): its address.
    AddMacAddr,
    DelMacAddr,
    Other(u8),
}

impl HwsimCmd {
    fn number(self) -> u8 {
        match self {
            HwsimCmd::Register => 1,
            HwsimCmd::Frame => 2,
            HwsimCmd::TxInfoFrame => 3,
            HwsimCmd::AddMacAddr => 7,
            HwsimCmd::DelMacAddr => 8,
            HwsimCmd::Other(n) => n,
        }
    }

    fn from_number(n: u8) -> Self {
        match n {
            1 => HwsimCmd::Register,
            2 => HwsimCmd::Frame,
            3 => HwsimCmd::TxInfoFrame,
            7 => HwsimCmd::AddMacAddr,
            8 => HwsimCmd::DelMacAddr,
            n => HwsimCmd::Other(n),
        }
    }
}

/// `HWSIM_TX_CTL_REQ_TX_STATUS`: the transmitter wants the frame's status.
pub const FLAG_REQ_TX_STATUS: u32 = 0x1;
/// `HWSIM_TX_CTL_NO_ACK`: the frame expects no acknowledgement (group-addressed, beacons).
pub const FLAG_NO_ACK: u32 = 0x2;
/// `HWSIM_TX_STAT_ACK`: the frame was acknowledged.
pub const FLAG_STAT_ACK: u32 = 0x4;

/// One entry of the rate chain (`struct hwsim_tx_rate`): a rate index and how many tries at it;
/// `idx` -1 ends the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxRate {
    pub idx: i8,
    pub count: u8,
}

/// The four-entry rate chain of `HWSIM_ATTR_TX_INFO` (exactly 8 bytes).
pub type TxInfo = [TxRate; 4];

/// `HWSIM_ATTR_*`, those the medium reads or writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HwsimAttr {
    /// The receiving radio (its `addresses[1]`).
    AddrReceiver(MacAddr),
    /// The transmitting radio (its `addresses[1]`).
    AddrTransmitter(MacAddr),
    /// The 802.11 frame, without FCS.
    Frame(Vec<u8>),
    Flags(u32),
    /// The legacy rate index a frame was received at.
    RxRate(u32),
    /// The signal in dBm (a signed value in a u32).
    Signal(i32),
    TxInfo(TxInfo),
    Cookie(u64),
    /// The channel's centre frequency, MHz.
    Freq(u32),
    Other(DefaultNla),
}

const ADDR_RECEIVER: u16 = 1;
const ADDR_TRANSMITTER: u16 = 2;
const FRAME: u16 = 3;
const FLAGS: u16 = 4;
const RX_RATE: u16 = 5;
const SIGNAL: u16 = 6;
const TX_INFO: u16 = 7;
const COOKIE: u16 = 8;
const FREQ: u16 = 19;

impl Nla for HwsimAttr {
    fn value_len(&self) -> usize {
        match self {
            HwsimAttr::AddrReceiver(_) | HwsimAttr::AddrTransmitter(_) => 6,
            HwsimAttr::Frame(frame) => frame.len(),
            HwsimAttr::Flags(_) | HwsimAttr::RxRate(_) | HwsimAttr::Signal(_) => 4,
            HwsimAttr::Freq(_) => 4,
            HwsimAttr::TxInfo(_) => 8,
            HwsimAttr::Cookie(_) => 8,
            HwsimAttr::Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            HwsimAttr::AddrReceiver(_) => ADDR_RECEIVER,
            HwsimAttr::AddrTransmitter(_) => ADDR_TRANSMITTER,
            HwsimAttr::Frame(_) => FRAME,
            HwsimAttr::Flags(_) => FLAGS,
            HwsimAttr::RxRate(_) => RX_RATE,
            HwsimAttr::Signal(_) => SIGNAL,
            HwsimAttr::TxInfo(_) => TX_INFO,
            HwsimAttr::Cookie(_) => COOKIE,
            HwsimAttr::Freq(_) => FREQ,
            HwsimAttr::Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            HwsimAttr::AddrReceiver(mac) | HwsimAttr::AddrTransmitter(mac) => {
                buffer.copy_from_slice(&mac.0)
            }
            HwsimAttr::Frame(frame) => buffer.copy_from_slice(frame),
            HwsimAttr::Flags(v) | HwsimAttr::RxRate(v) | HwsimAttr::Freq(v) => {
                emit_u32(buffer, *v).expect("4 bytes")
            }
            HwsimAttr::Signal(dbm) => emit_u32(buffer, *dbm as u32).expect("4 bytes"),
            HwsimAttr::TxInfo(rates) => {
                for (i, rate) in rates.iter().enumerate() {
                    buffer[2 * i] = rate.idx as u8;
                    buffer[2 * i + 1] = rate.count;
                }
            }
            HwsimAttr::Cookie(v) => emit_u64(buffer, *v).expect("8 bytes"),
            HwsimAttr::Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for HwsimAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let value = buf.value();
        let mac = || -> Result<MacAddr, DecodeError> {
            MacAddr::try_from(value.get(..6).ok_or("a MAC address shorter than 6 bytes")?)
                .map_err(|_| DecodeError::from("a MAC address of the wrong length"))
        };
        Ok(match buf.kind() {
            ADDR_RECEIVER => HwsimAttr::AddrReceiver(mac()?),
            ADDR_TRANSMITTER => HwsimAttr::AddrTransmitter(mac()?),
            FRAME => HwsimAttr::Frame(value.to_vec()),
            FLAGS => HwsimAttr::Flags(parse_u32(value)?),
            RX_RATE => HwsimAttr::RxRate(parse_u32(value)?),
            SIGNAL => HwsimAttr::Signal(parse_u32(value)? as i32),
            FREQ => HwsimAttr::Freq(parse_u32(value)?),
            COOKIE => HwsimAttr::Cookie(parse_u64(value)?),
            TX_INFO => {
                let mut rates = [TxRate { idx: -1, count: 0 }; 4];
                for (i, pair) in value.chunks_exact(2).take(4).enumerate() {
                    rates[i] = TxRate { idx: pair[0] as i8, count: pair[1] };
                }
                HwsimAttr::TxInfo(rates)
            }
            _ => HwsimAttr::Other(DefaultNla::parse(buf)?),
        })
    }
}

/// One message of the family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HwsimMessage {
    pub cmd: HwsimCmd,
    pub attrs: Vec<HwsimAttr>,
}

impl HwsimMessage {
    pub fn register() -> Self {
        HwsimMessage { cmd: HwsimCmd::Register, attrs: Vec::new() }
    }
}

impl GenlFamily for HwsimMessage {
    fn family_name() -> &'static str {
        FAMILY
    }

    fn command(&self) -> u8 {
        self.cmd.number()
    }

    fn version(&self) -> u8 {
        VERSION
    }
}

impl Emitable for HwsimMessage {
    fn buffer_len(&self) -> usize {
        self.attrs.as_slice().buffer_len()
    }

    fn emit(&self, buffer: &mut [u8]) {
        self.attrs.as_slice().emit(buffer)
    }
}

impl ParseableParametrized<[u8], GenlHeader> for HwsimMessage {
    fn parse_with_param(buf: &[u8], header: GenlHeader) -> Result<Self, DecodeError> {
        let attrs = NlasIterator::new(buf)
            .map(|nla| nla.and_then(|nla| HwsimAttr::parse(&nla)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(HwsimMessage { cmd: HwsimCmd::from_number(header.cmd), attrs })
    }
}

/// A frame a radio transmitted, as the kernel hands it to the medium.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmitted {
    pub transmitter: MacAddr,
    pub frame: Vec<u8>,
    pub flags: u32,
    pub tx_info: TxInfo,
    pub cookie: u64,
    pub freq_mhz: Option<u32>,
}

impl Transmitted {
    /// The transmission in a kernel `HWSIM_CMD_FRAME`, if it is one.
    pub fn of(message: &HwsimMessage) -> Option<Transmitted> {
        if message.cmd != HwsimCmd::Frame {
            return None;
        }
        let (mut transmitter, mut frame, mut flags, mut tx_info, mut cookie, mut freq_mhz) =
            (None, None, 0, None, None, None);
        for attr in &message.attrs {
            match attr {
                HwsimAttr::AddrTransmitter(mac) => transmitter = Some(*mac),
                HwsimAttr::Frame(f) => frame = Some(f.clone()),
                HwsimAttr::Flags(f) => flags = *f,
                HwsimAttr::TxInfo(t) => tx_info = Some(*t),
                HwsimAttr::Cookie(c) => cookie = Some(*c),
                HwsimAttr::Freq(f) => freq_mhz = Some(*f),
                _ => {}
            }
        }
        Some(Transmitted {
            transmitter: transmitter?,
            frame: frame?,
            flags,
            tx_info: tx_info.unwrap_or([TxRate { idx: -1, count: 0 }; 4]),
            cookie: cookie?,
            freq_mhz,
        })
    }

    /// The TX status to send back: the flags as received (the kernel acts on those it gets),
    /// with the acknowledgement, and the tries the chain took.
    pub fn status(&self, acked: bool, tx_info: TxInfo, signal_dbm: i32) -> HwsimMessage {
        let flags = if acked { self.flags | FLAG_STAT_ACK } else { self.flags };
        HwsimMessage {
            cmd: HwsimCmd::TxInfoFrame,
            attrs: vec![
                HwsimAttr::AddrTransmitter(self.transmitter),
                HwsimAttr::Flags(flags),
                HwsimAttr::Cookie(self.cookie),
                HwsimAttr::Signal(signal_dbm),
                HwsimAttr::TxInfo(tx_info),
            ],
        }
    }

    /// The frame handed to `receiver` at `signal_dbm`.
    pub fn delivery(&self, receiver: MacAddr, signal_dbm: i32) -> HwsimMessage {
        // The rate the transmitter used first, as a legacy index (every 2.4 GHz radio has 12).
        let rx_rate = self.tx_info[0].idx.clamp(0, 11) as u32;
        let mut attrs = vec![
            HwsimAttr::AddrReceiver(receiver),
            HwsimAttr::Frame(self.frame.clone()),
            HwsimAttr::RxRate(rx_rate),
            HwsimAttr::Signal(signal_dbm),
        ];
        // With the frequency the kernel drops frames for radios on another channel itself.
        if let Some(freq) = self.freq_mhz {
            attrs.push(HwsimAttr::Freq(freq));
        }
        HwsimMessage { cmd: HwsimCmd::Frame, attrs }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RADIO: MacAddr = MacAddr([0x42, 0, 0, 0, 1, 0]);

    fn round_trip(message: &HwsimMessage) -> HwsimMessage {
        let mut bytes = vec![0u8; message.buffer_len()];
        message.emit(&mut bytes);
        let header = GenlHeader { cmd: message.command(), version: 1 };
        HwsimMessage::parse_with_param(&bytes, header).unwrap()
    }

    fn transmitted() -> Transmitted {
        Transmitted {
            transmitter: RADIO,
            frame: vec![0x80, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            flags: FLAG_REQ_TX_STATUS,
            tx_info: [
                TxRate { idx: 3, count: 4 },
                TxRate { idx: 0, count: 7 },
                TxRate { idx: -1, count: 0 },
                TxRate { idx: -1, count: 0 },
            ],
            cookie: 0x1234_5678_9abc,
            freq_mhz: Some(2412),
        }
    }

    #[test]
    fn a_kernel_frame_is_read_back_whole() {
        let tx = transmitted();
        let message = HwsimMessage {
            cmd: HwsimCmd::Frame,
            attrs: vec![
                HwsimAttr::AddrTransmitter(tx.transmitter),
                HwsimAttr::Frame(tx.frame.clone()),
                HwsimAttr::Flags(tx.flags),
                HwsimAttr::Freq(2412),
                HwsimAttr::TxInfo(tx.tx_info),
                HwsimAttr::Other(DefaultNla::new(21, vec![0; 12])),
                HwsimAttr::Cookie(tx.cookie),
            ],
        };
        assert_eq!(Transmitted::of(&round_trip(&message)), Some(tx));
        assert_eq!(Transmitted::of(&HwsimMessage::register()), None);
    }

    #[test]
    fn the_status_echoes_the_flags_with_the_acknowledgement() {
        let tx = transmitted();
        let acked = round_trip(&tx.status(true, tx.tx_info, -40));
        assert!(acked.attrs.contains(&HwsimAttr::Flags(FLAG_REQ_TX_STATUS | FLAG_STAT_ACK)));
        assert!(acked.attrs.contains(&HwsimAttr::Cookie(tx.cookie)));
        assert!(acked.attrs.contains(&HwsimAttr::Signal(-40)), "signed: {acked:?}");
        let lost = tx.status(false, tx.tx_info, -40);
        assert!(lost.attrs.contains(&HwsimAttr::Flags(FLAG_REQ_TX_STATUS)));
    }

    #[test]
    fn a_delivery_carries_the_receiver_rate_signal_and_channel() {
        let receiver = MacAddr([0x42, 0, 0, 0, 2, 0]);
        let delivery = round_trip(&transmitted().delivery(receiver, -70));
        assert_eq!(delivery.cmd, HwsimCmd::Frame);
        assert!(delivery.attrs.contains(&HwsimAttr::AddrReceiver(receiver)));
        assert!(delivery.attrs.contains(&HwsimAttr::RxRate(3)));
        assert!(delivery.attrs.contains(&HwsimAttr::Signal(-70)));
        assert!(delivery.attrs.contains(&HwsimAttr::Freq(2412)));
        // A TX_INFO of exactly 8 bytes (the kernel refuses any other length).
        assert_eq!(HwsimAttr::TxInfo(transmitted().tx_info).value_len(), 8);
    }
}
