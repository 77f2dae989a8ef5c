//! The traffic probe and the echo responder.
//!
//! The probe sends a datagram `[seq: u64][sent_ns: u64]` every interval from the station's
//! namespace to the echo responder behind the bridge, and records when each echo returns. The
//! arithmetic on these records is in `roam_testbed::traffic`.

use std::{
    fs::File,
    net::{SocketAddr, UdpSocket},
    os::fd::AsRawFd,
    path::Path,
    sync::{
        atomic::{AtomicBool, Ordering},
        mpsc, Arc, Mutex,
    },
    thread::{self, JoinHandle},
    time::Duration,
};

use anyhow::{bail, Context as _, Result};
use roam_testbed::traffic::{self, ProbeRecord};

use super::system::monotonic_ns;

const DATAGRAM_LEN: usize = 16;
/// How often blocked receivers look at their stop flag.
const POLL: Duration = Duration::from_millis(100);

#[derive(Default)]
struct Shared {
    records: Mutex<Vec<ProbeRecord>>,
    stop: AtomicBool,
    /// No probe goes out while set (an idle station).
    paused: AtomicBool,
}

/// A running probe; dropping it stops it.
pub struct Probe {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    interval: Duration,
}

impl Probe {
    /// Starts probing `target` every `interval`, from the network namespace at `netns` (a path
    /// such as /run/netns/sta) or from this one.
    pub fn start(netns: Option<&Path>, target: SocketAddr, interval: Duration) -> Result<Probe> {
        let shared = Arc::new(Shared::default());
        let (ready_tx, ready_rx) = mpsc::channel();
        let sender = {
            let shared = shared.clone();
            let netns = netns.map(Path::to_path_buf);
            thread::Builder::new().name("probe-send".into()).spawn(move || {
                // A socket belongs to the namespace it was created in, whatever thread uses
                // it later; so only this thread enters the station's namespace.
                let socket = netns
                    .as_deref()
                    .map_or(Ok(()), enter_netns)
                    .and_then(|()| probe_socket(target));
                let socket = match socket {
                    Ok(socket) => socket,
                    Err(err) => {
                        let _ = ready_tx.send(Err(err));
                        return;
                    }
                };
                let receiver = socket.try_clone().map_err(anyhow::Error::from);
                let failed = receiver.is_err();
                let _ = ready_tx.send(receiver);
                if !failed {
                    send_loop(&socket, &shared, interval);
                }
            })?
        };
        let receive_socket = ready_rx.recv().context("the probe's sender thread died")??;
        let receiver = {
            let shared = shared.clone();
            thread::Builder::new()
                .name("probe-receive".into())
                .spawn(move || receive_loop(&receive_socket, &shared))?
        };
        Ok(Probe { shared, threads: vec![sender, receiver], interval })
    }

    /// Stops sending (the station goes idle) or starts again.
    pub fn set_paused(&self, paused: bool) {
        self.shared.paused.store(paused, Ordering::Relaxed);
    }

    /// The time between two probes.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// How many answered probes in a row count as steady (or recovered) traffic at this pace.
    pub fn settled_streak(&self) -> usize {
        roam_testbed::traffic::settled_streak(self.interval.as_nanos() as u64)
    }

    /// How long the settled streak takes at least.
    pub fn settled_duration(&self) -> Duration {
        self.interval * self.settled_streak() as u32
    }

    /// Records of probes sent at or after `since_ns`.
    pub fn records_since(&self, since_ns: u64) -> Vec<ProbeRecord> {
        let records = self.shared.records.lock().expect("probe lock");
        let first = records.partition_point(|r| r.sent_ns < since_ns);
        records[first..].to_vec()
    }

    /// How many of the most recent probes sent after `since_ns` were answered in a row, ignoring
    /// the ones sent within the last `in_flight` (their echo may still be on its way).
    pub fn answered_streak(&self, since_ns: u64, in_flight: Duration) -> usize {
        let settled_before = monotonic_ns().saturating_sub(in_flight.as_nanos() as u64);
        let records = self.shared.records.lock().expect("probe lock");
        records
            .iter()
            .rev()
            .skip_while(|r| r.sent_ns > settled_before)
            .take_while(|r| r.sent_ns >= since_ns && r.echoed_ns.is_some())
            .count()
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

fn enter_netns(path: &Path) -> Result<()> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    // SAFETY: the fd is valid for the call; setns only changes this thread's namespace.
    if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        bail!("setns({}): {}", path.display(), std::io::Error::last_os_error());
    }
    Ok(())
}

fn probe_socket(target: SocketAddr) -> Result<UdpSocket> {
    let any: SocketAddr = match target {
        SocketAddr::V4(_) => "0.0.0.0:0".parse()?,
        SocketAddr::V6(_) => "[::]:0".parse()?,
    };
    let socket = UdpSocket::bind(any)?;
    // IPv6's prefix route comes back a moment after a new stack's connection brings the link
    // up (seen when the benchmark switched stacks): until then connect() finds no route.
    let deadline = std::time::Instant::now() + ROUTE_WAIT;
    loop {
        match socket.connect(target) {
            Ok(()) => break,
            Err(err)
                if err.kind() == std::io::ErrorKind::NetworkUnreachable
                    && std::time::Instant::now() < deadline =>
            {
                thread::sleep(Duration::from_millis(20));
            }
            Err(err) => {
                return Err(err).with_context(|| format!("connecting the probe to {target}"))
            }
        }
    }
    socket.set_read_timeout(Some(POLL))?;
    Ok(socket)
}

/// How long the probe waits for a route to its target.
const ROUTE_WAIT: Duration = Duration::from_secs(3);

fn send_loop(socket: &UdpSocket, shared: &Shared, interval: Duration) {
    let interval_ns = interval.as_nanos() as u64;
    // Absolute deadlines: a late wake-up does not shift every later probe.
    let mut deadline = monotonic_ns();
    for seq in 0u64.. {
        if shared.stop.load(Ordering::Relaxed) {
            return;
        }
        while shared.paused.load(Ordering::Relaxed) {
            thread::sleep(POLL.min(interval));
            if shared.stop.load(Ordering::Relaxed) {
                return;
            }
            // Resumed: the schedule starts again from now.
            deadline = monotonic_ns();
        }
        let now = monotonic_ns();
        if deadline > now {
            thread::sleep(Duration::from_nanos(deadline - now));
        }
        deadline += interval_ns;
        let sent_ns = monotonic_ns();
        shared.records.lock().expect("probe lock").push(ProbeRecord {
            seq,
            sent_ns,
            echoed_ns: None,
        });
        let mut datagram = [0u8; DATAGRAM_LEN];
        datagram[..8].copy_from_slice(&seq.to_be_bytes());
        datagram[8..].copy_from_slice(&sent_ns.to_be_bytes());
        // A send error (no route while the link is down) is a lost probe like any other.
        let _ = socket.send(&datagram);
    }
}

fn receive_loop(socket: &UdpSocket, shared: &Shared) {
    let mut datagram = [0u8; 64];
    while !shared.stop.load(Ordering::Relaxed) {
        let Ok(len) = socket.recv(&mut datagram) else {
            continue;
        };
        let echoed_ns = monotonic_ns();
        if len != DATAGRAM_LEN {
            continue;
        }
        let seq = u64::from_be_bytes(datagram[..8].try_into().expect("8 bytes"));
        let mut records = shared.records.lock().expect("probe lock");
        // Records are indexed by sequence number; keep the first echo of a duplicate.
        if let Some(record) = records.get_mut(seq as usize) {
            record.echoed_ns.get_or_insert(echoed_ns);
        }
    }
}

/// Echo responder: returns every datagram to its sender. Dropping it stops it.
pub struct Echo {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Echo {
    pub fn start(bind: SocketAddr) -> Result<Echo> {
        Echo::start_in(None, bind)
    }

    /// An echo responder in the network namespace at `netns` (or this one): the socket is made
    /// there, by a thread that enters it, and keeps that namespace whichever thread reads it.
    pub fn start_in(netns: Option<&Path>, bind: SocketAddr) -> Result<Echo> {
        let netns = netns.map(Path::to_path_buf);
        let socket = thread::spawn(move || {
            netns.as_deref().map_or(Ok(()), enter_netns)?;
            UdpSocket::bind(bind).with_context(|| format!("echo responder cannot bind {bind}"))
        })
        .join()
        .map_err(|_| anyhow::anyhow!("the echo responder's setup thread panicked"))??;
        socket.set_read_timeout(Some(POLL))?;
        give_room_for_held_replies(&socket)?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            thread::Builder::new().name("echo".into()).spawn(move || echo_loop(&socket, &stop))?
        };
        Ok(Echo { stop, thread: Some(thread) })
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The responder's send buffer: the APs' host is also the gateway, so a reply the bridge hands
/// to an AP stays charged to this socket until that AP frees it. An AP that still holds a
/// station which walked away (its goodbye lost at -92 dBm) keeps the replies queued for it
/// until the station comes back or expires: a walk's worth of them filled the default 208 KiB,
/// and the responder then blocked and answered nobody, while the path itself worked (a ping
/// went through). The room is forced past `wmem_max` (the testbed runs as root).
const ECHO_SEND_BUFFER: libc::c_int = 16 << 20;

fn give_room_for_held_replies(socket: &UdpSocket) -> Result<()> {
    // SAFETY: a valid socket and an int option of the size given.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDBUFFORCE,
            (&ECHO_SEND_BUFFER as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        bail!("SO_SNDBUFFORCE on the echo responder: {}", std::io::Error::last_os_error());
    }
    Ok(())
}

fn echo_loop(socket: &UdpSocket, stop: &AtomicBool) {
    let mut buf = [0u8; 2048];
    while !stop.load(Ordering::Relaxed) {
        if let Ok((len, from)) = socket.recv_from(&mut buf) {
            // Never wait for room: a reply that does not fit is a lost probe, and the
            // responder goes on answering everyone else.
            let _ = send_now(socket, &buf[..len], from);
        }
    }
}

fn send_now(socket: &UdpSocket, datagram: &[u8], to: SocketAddr) -> std::io::Result<usize> {
    socket2::SockRef::from(socket).send_to_with_flags(datagram, &to.into(), libc::MSG_DONTWAIT)
}

/// `roam-testbed echo`: serves until killed.
pub fn echo_forever(bind: SocketAddr) -> Result<()> {
    let _echo = Echo::start(bind)?;
    println!("echoing on {bind}; Ctrl-C to stop");
    loop {
        thread::park();
    }
}

/// `roam-testbed probe`: probes for a while and prints what the traffic looked like.
pub fn run_standalone(
    netns: Option<&str>,
    target: SocketAddr,
    interval: Duration,
    duration: Duration,
) -> Result<()> {
    let netns_path = netns.map(|name| Path::new("/run/netns").join(name));
    let start = monotonic_ns();
    let probe = Probe::start(netns_path.as_deref(), target, interval)?;
    thread::sleep(duration);
    let end = monotonic_ns();
    let records = probe.records_since(start);
    let outcome = traffic::analyze(&records, start, end, interval.as_nanos() as u64);
    let answered = records.iter().filter(|r| r.echoed_ns.is_some()).count();
    println!(
        "{} probes, {answered} answered, {} lost; longest gap {:.1} ms",
        records.len(),
        outcome.lost_packets,
        outcome.gap_ms
    );
    Ok(())
}
