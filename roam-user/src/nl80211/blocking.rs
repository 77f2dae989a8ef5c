//! One nl80211 request on a fresh, blocking socket, for `Drop`.
//!
//! A destructor cannot await, and may run while the tokio runtime is
//! shutting down (the client's connection task already gone). Deleting a
//! monitor interface is one small request and one ACK, so it is done here
//! with plain syscalls, bounded by a receive timeout.

use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use netlink_sys::protocols::NETLINK_GENERIC;
use netlink_sys::{Socket, SocketAddr};
use nix::errno::Errno;
use wl_nl80211::packet_core::{NetlinkMessage, NLM_F_ACK, NLM_F_REQUEST};
use wl_nl80211::packet_generic::GenlMessage;
use wl_nl80211::Nl80211Message;

use super::transport::{nl80211_request, Failure};
use crate::netlink_answer::{answer, Answer};

/// The request as bytes on the wire, with its sequence number.
pub(crate) fn encode(family_id: u16, sequence: u32, message: Nl80211Message) -> Vec<u8> {
    let mut request = nl80211_request(family_id, message, NLM_F_REQUEST | NLM_F_ACK);
    request.header.sequence_number = sequence;
    request.finalize();
    let mut buf = vec![0u8; request.buffer_len()];
    request.serialize(&mut buf);
    buf
}

/// The ACK (`Ok`) or NACK (`Err(errno)`) for `sequence` among the netlink
/// messages of one datagram; `None` when it is not there.
pub(crate) fn find_ack(datagram: &[u8], sequence: u32) -> Option<Result<(), Errno>> {
    let mut offset = 0;
    while offset < datagram.len() {
        let message =
            NetlinkMessage::<GenlMessage<Nl80211Message>>::deserialize(&datagram[offset..]).ok()?;
        let length = message.header.length as usize;
        if message.header.sequence_number == sequence {
            match answer(&message.payload) {
                Answer::Done => return Some(Ok(())),
                Answer::Failed(errno) => return Some(Err(errno)),
                Answer::Other => {}
            }
        }
        if length == 0 {
            break;
        }
        // Messages in a datagram are 4-byte aligned (NLMSG_ALIGN).
        offset += length.next_multiple_of(4);
    }
    None
}

fn set_receive_timeout(socket: &Socket, timeout: Duration) -> std::io::Result<()> {
    let tv = libc::timeval {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_usec: timeout.subsec_micros() as libc::suseconds_t,
    };
    // SAFETY: the fd is a live socket owned by `socket`, and `tv` is a valid
    // timeval whose size we pass.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Sends `message` and waits at most `timeout` for its ACK.
pub(crate) fn request_ack(
    family_id: u16,
    message: Nl80211Message,
    timeout: Duration,
) -> Result<(), Failure> {
    const SEQUENCE: u32 = 1;
    let mut socket = Socket::new(NETLINK_GENERIC).map_err(Failure::Io)?;
    socket.bind_auto().map_err(Failure::Io)?;
    socket.connect(&SocketAddr::new(0, 0)).map_err(Failure::Io)?;
    set_receive_timeout(&socket, timeout).map_err(Failure::Io)?;
    socket.send(&encode(family_id, SEQUENCE, message), 0).map_err(Failure::Io)?;

    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        let (datagram, _) = match socket.recv_from_full() {
            Ok(received) => received,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Failure::Io(e)),
        };
        if let Some(answer) = find_ack(&datagram, SEQUENCE) {
            return answer.map_err(Failure::Errno);
        }
    }
    Err(Failure::Timeout(timeout))
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroI32;

    use wl_nl80211::packet_core::{ErrorMessage, NetlinkHeader, NetlinkPayload, NLMSG_ERROR};
    use wl_nl80211::{Nl80211Attr, Nl80211Command};

    use super::super::messages;
    use super::*;

    fn answer(sequence: u32, code: i32) -> Vec<u8> {
        let mut error = ErrorMessage::default();
        error.code = NonZeroI32::new(code);
        let mut header = NetlinkHeader::default();
        header.sequence_number = sequence;
        let mut message = NetlinkMessage::<GenlMessage<Nl80211Message>>::new(
            header,
            NetlinkPayload::Error(error),
        );
        message.finalize();
        let mut buf = vec![0u8; message.buffer_len()];
        message.serialize(&mut buf);
        buf
    }

    #[test]
    fn encoded_request_is_a_complete_nl80211_message() {
        let buf = encode(0x1c, 7, messages::del_wdev(0x1_0000_0002));
        let back = NetlinkMessage::<GenlMessage<Nl80211Message>>::deserialize(&buf).unwrap();
        assert_eq!(back.header.length as usize, buf.len());
        assert_eq!(back.header.message_type, 0x1c);
        assert_eq!(back.header.sequence_number, 7);
        assert_eq!(back.header.flags, NLM_F_REQUEST | NLM_F_ACK);
        match back.payload {
            NetlinkPayload::InnerMessage(genl) => {
                assert_eq!(genl.payload.cmd, Nl80211Command::DelInterface);
                assert_eq!(genl.payload.attributes, vec![Nl80211Attr::Wdev(0x1_0000_0002)]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ack_nack_and_strangers() {
        assert_eq!(find_ack(&answer(1, 0), 1), Some(Ok(())));
        assert_eq!(find_ack(&answer(1, -libc::ENODEV), 1), Some(Err(Errno::ENODEV)));
        assert_eq!(find_ack(&answer(2, 0), 1), None);
        assert_eq!(find_ack(&[], 1), None);
        assert_eq!(find_ack(&[1, 2, 3], 1), None);
    }

    #[test]
    fn ack_after_another_message_in_the_same_datagram() {
        let mut datagram = answer(5, 0);
        datagram.extend(answer(1, -libc::EBUSY));
        assert_eq!(find_ack(&datagram, 1), Some(Err(Errno::EBUSY)));
        assert_eq!(u16::from_ne_bytes([datagram[4], datagram[5]]), NLMSG_ERROR);
    }
}
