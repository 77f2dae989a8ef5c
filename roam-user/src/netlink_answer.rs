//! The kernel's answer to a netlink request, read one way for every family (rtnetlink,
//! nl80211): NLMSG_ERROR with no code is the ACK, with a code the request's errno; a dump
//! ends with NLMSG_DONE, whose code is negative when the dump failed.

use netlink_packet_core::NetlinkPayload;
use nix::errno::Errno;

/// What a message says of the request it answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Done: the ACK, or a dump's successful end.
    Done,
    /// The request failed with this errno.
    Failed(Errno),
    /// A reply of the request's own (a dump entry, a new object), or nothing about it.
    Other,
}

pub fn answer<T>(payload: &NetlinkPayload<T>) -> Answer {
    match payload {
        NetlinkPayload::Error(error) => match error.code {
            None => Answer::Done,
            Some(code) => Answer::Failed(Errno::from_raw(code.get().abs())),
        },
        NetlinkPayload::Done(done) if done.code < 0 => Answer::Failed(Errno::from_raw(-done.code)),
        NetlinkPayload::Done(_) => Answer::Done,
        _ => Answer::Other,
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroI32;

    use netlink_packet_core::{DoneMessage, ErrorMessage};

    use super::*;

    type Payload = NetlinkPayload<netlink_packet_route::RouteNetlinkMessage>;

    #[test]
    fn acks_errors_and_dump_ends() {
        let mut ack = ErrorMessage::default();
        assert_eq!(answer(&Payload::Error(ack.clone())), Answer::Done);
        ack.code = NonZeroI32::new(-libc::EPERM);
        assert_eq!(answer(&Payload::Error(ack)), Answer::Failed(Errno::EPERM));
        let mut done = DoneMessage::default();
        assert_eq!(answer(&Payload::Done(done.clone())), Answer::Done);
        done.code = -libc::EINTR;
        assert_eq!(answer(&Payload::Done(done)), Answer::Failed(Errno::EINTR));
        assert_eq!(answer(&Payload::Noop), Answer::Other);
    }
}
