//! A spawned task that lives exactly as long as its owner.
//!
//! netlink connections are futures that must be polled by a task; when the
//! client or event stream that uses one is dropped, the task must go too,
//! or it would keep the socket (and its multicast memberships) open.

use std::future::Future;

use tokio::task::JoinHandle;

#[derive(Debug)]
pub(crate) struct AbortOnDrop(JoinHandle<()>);

impl AbortOnDrop {
    pub(crate) fn spawn(future: impl Future<Output = ()> + Send + 'static) -> Self {
        AbortOnDrop(tokio::spawn(future))
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
