//! Everything that only makes sense inside the VM.

pub mod ap;
pub mod aslr;
pub mod attacker;
pub mod autoload;
pub mod capture;
pub mod ctrl;
pub mod hooks;
pub mod http;
pub mod hwsim;
pub mod init;
pub mod laps;
pub mod leftovers;
pub mod logs;
pub mod paths;
pub mod probe;
pub mod process;
pub mod refusals;
pub mod results;
pub mod runner;
pub mod stalls;
pub mod station;
pub mod system;
pub mod text_patching;
pub mod topology;
pub mod trace;
pub mod trigger;
