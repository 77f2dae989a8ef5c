//! Sending one generic netlink request and collecting its answer.
//!
//! wl-nl80211's own request types turn a failed family lookup into a string
//! ("BUG: Request failed with ...") and stop at the first undecodable reply,
//! so roam sends its [`Nl80211Message`]s itself, through the genetlink
//! handle inside wl-nl80211's [`Nl80211Handle`], with the family id it
//! resolved once ([`super::family`]). That keeps the errno of every failure
//! (the agent acts on EBUSY/ENOENT) and lets a dump skip one bad entry
//! instead of losing the whole scan list. The change requests that would make this
//! unnecessary are in docs/upstream/wl-nl80211.md.

use std::fmt::Debug;
use std::io;
use std::time::Duration;

use futures::{Stream, StreamExt};
use nix::errno::Errno;
use wl_nl80211::packet_core::{
    DecodeError, Emitable, NetlinkMessage, NetlinkPayload, ParseableParametrized, NLM_F_DUMP_INTR,
};
use wl_nl80211::packet_generic::{GenlFamily, GenlHeader, GenlMessage};
use wl_nl80211::{Nl80211Handle, Nl80211Message};

use super::error::{Nl80211Error, Op};
use crate::netlink_answer::{self, Answer};

/// How long a single request may take. nl80211 answers in microseconds; a
/// missing answer means a wedged driver, and the agent must not hang on it.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a request failed, before we know how to phrase it: the caller adds
/// what it asked ([`Op`]) and about which interface.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The kernel answered NLMSG_ERROR (or a dump's NLMSG_DONE) with this errno.
    Errno(Errno),
    /// No complete answer in time.
    Timeout(Duration),
    /// The netlink connection is gone (its task ended) or refused the request.
    Closed(String),
    /// A local socket call failed.
    Io(io::Error),
    /// The answer was there but unusable.
    Malformed(String),
}

impl Failure {
    pub(crate) fn into_error(self, op: Op, iface: &str) -> Nl80211Error {
        match self {
            Failure::Errno(errno) => super::error::from_errno(op, iface, errno),
            Failure::Timeout(after) => {
                Nl80211Error::Timeout { what: format!("{} on {iface}", op.label()), after }
            }
            Failure::Closed(detail) => Nl80211Error::protocol(
                format!("sending {} on {iface}", op.label()),
                format!("netlink connection closed: {detail}"),
            ),
            Failure::Io(source) => {
                Nl80211Error::io(format!("{} on {iface}: socket error", op.label()), source)
            }
            Failure::Malformed(detail) => Nl80211Error::protocol(
                format!("reading the {} answer for {iface}", op.label()),
                detail,
            ),
        }
    }
}

/// Everything a request got back, short of an error.
#[derive(Debug)]
pub(crate) struct Replies<F> {
    pub messages: Vec<F>,
    /// The kernel flagged the dump NLM_F_DUMP_INTR: the list changed while
    /// it was being sent, entries may be missing or doubled. Retry.
    pub interrupted: bool,
    /// Messages that could not be decoded, with the first reason: a dump
    /// skips them rather than failing as a whole.
    pub undecodable: usize,
    pub first_decode_error: Option<String>,
}

impl<F> Replies<F> {
    /// The single reply of a non-dump request (GET_INTERFACE, NEW_INTERFACE).
    pub(crate) fn into_single(self) -> Result<F, Failure> {
        let Replies { messages, first_decode_error, .. } = self;
        match messages.into_iter().next() {
            Some(message) => Ok(message),
            None => Err(Failure::Malformed(match first_decode_error {
                Some(e) => format!("the reply could not be decoded: {e}"),
                None => "the kernel acknowledged but sent no reply message".to_owned(),
            })),
        }
    }
}

/// An nl80211 request message addressed to the resolved family.
pub(crate) fn nl80211_request(
    family_id: u16,
    message: Nl80211Message,
    flags: u16,
) -> NetlinkMessage<GenlMessage<Nl80211Message>> {
    let mut genl = GenlMessage::from_payload(message);
    // A non-zero id also stops genetlink from resolving the family again.
    genl.set_resolved_family_id(family_id);
    let mut request = NetlinkMessage::from(genl);
    request.header.flags = flags;
    request
}

/// Sends `request` on the handle's connection and collects the answer.
pub(crate) async fn send<F>(
    handle: &Nl80211Handle,
    request: NetlinkMessage<GenlMessage<F>>,
    timeout: Duration,
) -> Result<Replies<F>, Failure>
where
    F: GenlFamily + Emitable + ParseableParametrized<[u8], GenlHeader> + Debug,
{
    let mut genl = handle.handle.clone();
    let answer = genl.send_request(request).map_err(|e| Failure::Closed(e.to_string()))?;
    match tokio::time::timeout(timeout, collect(answer)).await {
        Ok(result) => result,
        Err(_) => Err(Failure::Timeout(timeout)),
    }
}

/// Reads an answer stream to its end: payload messages are kept, an ACK is
/// skipped, an error (NLMSG_ERROR, or NLMSG_DONE with a negative code, which
/// is how a failing dump ends) stops with its errno.
pub(crate) async fn collect<F, S>(answer: S) -> Result<Replies<F>, Failure>
where
    S: Stream<Item = Result<NetlinkMessage<GenlMessage<F>>, DecodeError>>,
    F: Debug,
{
    let mut replies = Replies {
        messages: Vec::new(),
        interrupted: false,
        undecodable: 0,
        first_decode_error: None,
    };
    futures::pin_mut!(answer);
    while let Some(item) = answer.next().await {
        let message = match item {
            Ok(message) => message,
            Err(e) => {
                replies.undecodable += 1;
                replies.first_decode_error.get_or_insert_with(|| e.to_string());
                continue;
            }
        };
        if message.header.flags & NLM_F_DUMP_INTR != 0 {
            replies.interrupted = true;
        }
        if let Answer::Failed(errno) = netlink_answer::answer(&message.payload) {
            return Err(Failure::Errno(errno));
        }
        if let NetlinkPayload::InnerMessage(genl) = message.payload {
            replies.messages.push(genl.payload);
        }
    }
    Ok(replies)
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroI32;

    use wl_nl80211::packet_core::{DoneMessage, ErrorMessage, NetlinkHeader, NLM_F_MULTIPART};
    use wl_nl80211::{Nl80211Attr, Nl80211Command};

    use super::*;

    type Item = Result<NetlinkMessage<GenlMessage<Nl80211Message>>, DecodeError>;

    fn reply(ifindex: u32, flags: u16) -> Item {
        let genl = GenlMessage::from_payload(Nl80211Message {
            cmd: Nl80211Command::NewInterface,
            attributes: vec![Nl80211Attr::IfIndex(ifindex)],
        });
        let mut message = NetlinkMessage::from(genl);
        message.header.flags = flags;
        Ok(message)
    }

    fn error(code: i32) -> Item {
        let mut error = ErrorMessage::default();
        error.code = NonZeroI32::new(code);
        Ok(NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::Error(error)))
    }

    fn done(code: i32) -> Item {
        let mut done = DoneMessage::default();
        done.code = code;
        Ok(NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::Done(done)))
    }

    fn run(items: Vec<Item>) -> Result<Replies<Nl80211Message>, Failure> {
        futures::executor::block_on(collect(futures::stream::iter(items)))
    }

    #[test]
    fn reply_then_ack_gives_the_reply() {
        let replies = run(vec![reply(7, 0), error(0)]).unwrap();
        assert_eq!(replies.messages.len(), 1);
        assert!(!replies.interrupted);
        let single = replies.into_single().unwrap();
        assert_eq!(single.attributes, vec![Nl80211Attr::IfIndex(7)]);
    }

    #[test]
    fn nack_gives_the_positive_errno() {
        match run(vec![error(-libc::EBUSY)]) {
            Err(Failure::Errno(errno)) => assert_eq!(errno, Errno::EBUSY),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn failing_dump_ends_with_a_negative_done() {
        match run(vec![done(-libc::ENODEV)]) {
            Err(Failure::Errno(errno)) => assert_eq!(errno, Errno::ENODEV),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn dump_collects_all_and_notices_interruption() {
        let replies = run(vec![
            reply(1, NLM_F_MULTIPART),
            reply(2, NLM_F_MULTIPART | NLM_F_DUMP_INTR),
            done(0),
        ])
        .unwrap();
        assert_eq!(replies.messages.len(), 2);
        assert!(replies.interrupted);
    }

    #[test]
    fn undecodable_entries_are_counted_not_fatal() {
        let replies =
            run(vec![reply(1, NLM_F_MULTIPART), Err(DecodeError::from("bad nla")), done(0)])
                .unwrap();
        assert_eq!(replies.messages.len(), 1);
        assert_eq!(replies.undecodable, 1);
        assert_eq!(replies.first_decode_error.as_deref(), Some("bad nla"));
    }

    #[test]
    fn single_reply_missing_is_malformed_with_the_reason() {
        let replies = run(vec![Err(DecodeError::from("bad nla")), error(0)]).unwrap();
        match replies.into_single() {
            Err(Failure::Malformed(detail)) => assert!(detail.contains("bad nla"), "{detail}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn request_carries_family_id_and_flags() {
        let message = Nl80211Message { cmd: Nl80211Command::GetScan, attributes: vec![] };
        let request = nl80211_request(0x1c, message, 0x301);
        assert_eq!(request.header.flags, 0x301);
        match &request.payload {
            NetlinkPayload::InnerMessage(genl) => assert_eq!(genl.family_id(), 0x1c),
            other => panic!("{other:?}"),
        }
    }
}
