//! The testbed's own wireless medium for mac80211_hwsim: the guest registers with hwsim's
//! generic netlink family and carries every frame of its radios itself, so a scenario can shape
//! the air per link (drop one AP's beacons to the station, lose frames at random, set a
//! signal that fades over time and costs frames as it does). Pure parts here, tested on the
//! host: [`wire`] (the family's messages), [`air`] (what becomes of each transmission),
//! [`signal`] (a link's signal over time and the loss it brings) and [`repeats`] (TX statuses said
//! again, for a frame hwsim had not yet queued). The guest's `medium` module runs the socket.

pub mod air;
pub mod repeats;
pub mod signal;
pub mod wire;
