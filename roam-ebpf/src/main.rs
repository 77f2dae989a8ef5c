//! roam's kernel programs. One file per hook; the maps they share live in `maps`, the layouts the
//! agent resolves at load time in `globals`. Parsing and policy come from `roam-common`, so this
//! crate is glue: read the context, call the shared code, update maps, emit an event on change.
#![no_std]
#![no_main]

mod carrier;
mod egress;
mod events;
mod frames;
mod globals;
mod history;
mod ingress;
mod kfree_skb;
mod link;
mod mac80211;
mod maps;
mod mlme;
mod neigh;
mod station;
mod window;

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // Never reached: the verifier rejects programs with a reachable loop like this one, so a
    // program that loads has no panicking path.
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 4] = *b"GPL\0";
