//! What the kernels say about the station's path when a run's traffic did not come back: each
//! AP's view of the station (`iw station dump`: authorised, inactive time, frames and
//! failures), the bridge's forwarding table (which AP's port a station's address is behind),
//! the interfaces' counters, both sides' neighbour entries and the station's routes, the UDP
//! sockets' queues, and a ping of the gateway. Read once, after such a run, for whoever reads its logs.

use std::{collections::HashMap, fmt::Write as _, fs};

use super::{ap::AccessPoint, paths, process};

/// The report, a section per command; a command that fails says so in its section.
pub fn read(aps: &[AccessPoint]) -> String {
    let mut commands: Vec<(&str, Vec<&str>)> = Vec::new();
    for ap in aps {
        commands.push((paths::IW, vec!["dev", &ap.iface, "station", "dump"]));
        commands.push((paths::IP, vec!["-s", "link", "show", "dev", &ap.iface]));
    }
    commands.push((paths::IP, vec!["-s", "link", "show", "dev", paths::BRIDGE]));
    commands.push((paths::IP, vec!["neigh", "show", "dev", paths::BRIDGE]));
    let station = ["-n", paths::STA_NETNS];
    commands.push((paths::IP, [&station[..], &["-s", "link", "show", paths::STA_IFACE]].concat()));
    commands.push((paths::IP, [&station[..], &["neigh", "show"]].concat()));
    commands.push((paths::IP, [&station[..], &["route", "show"]].concat()));
    // The echo responder's socket: a Send-Q at its buffer's size means its replies are held
    // somewhere below it.
    commands.push((paths::BUSYBOX, vec!["netstat", "-una"]));
    // Whether the path carries anything now, beside the probe's datagrams.
    let gateway = paths::BRIDGE_ADDRESS.split('/').next().unwrap_or_default();
    let ping = ["netns", "exec", paths::STA_NETNS, paths::BUSYBOX, "ping", "-c", "3", "-W", "1"];
    commands.push((paths::IP, [&ping[..], &[gateway]].concat()));
    let mut out = String::new();
    let _ = writeln!(out, "$ cat /sys/class/net/{}/brforward (decoded)", paths::BRIDGE);
    match forwarding_table(paths::BRIDGE) {
        Ok(text) => out.push_str(&text),
        Err(err) => {
            let _ = writeln!(out, "(failed: {err})");
        }
    }
    out.push('\n');
    for (program, args) in commands {
        let _ = writeln!(out, "$ {program} {}", args.join(" "));
        match process::run(program, &args) {
            Ok(text) => out.push_str(&text),
            Err(err) => {
                let _ = writeln!(out, "(failed: {err:#})");
            }
        }
        out.push('\n');
    }
    out
}

/// The bridge's forwarding table, one line per address (see [`describe_forwarding`]), read
/// from sysfs as the guest has no `bridge` program.
fn forwarding_table(bridge: &str) -> std::io::Result<String> {
    let raw = fs::read(format!("/sys/class/net/{bridge}/brforward"))?;
    let mut ports = HashMap::new();
    for entry in fs::read_dir(format!("/sys/class/net/{bridge}/brif"))? {
        let entry = entry?;
        let number = fs::read_to_string(entry.path().join("port_no"))?;
        let number = u16::from_str_radix(number.trim().trim_start_matches("0x"), 16).unwrap_or(0);
        ports.insert(number, entry.file_name().to_string_lossy().into_owned());
    }
    Ok(describe_forwarding(&raw, &ports))
}

/// `brforward`'s entries (`struct __fdb_entry`, 16 bytes each: address, port's low byte, local
/// flag, age in hundredths of a second, port's high byte), each as the address, the port it is
/// behind (named from `ports`), whether it is the bridge's own, and its age.
fn describe_forwarding(raw: &[u8], ports: &HashMap<u16, String>) -> String {
    let mut out = String::new();
    for e in raw.chunks_exact(16) {
        let mac = e[..6].iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":");
        let port = u16::from(e[12]) << 8 | u16::from(e[6]);
        let age_cs = u32::from_ne_bytes([e[8], e[9], e[10], e[11]]);
        let name = ports.get(&port).map_or("?", String::as_str);
        let local = if e[7] != 0 { " local" } else { "" };
        let age = f64::from(age_cs) / 100.0;
        let _ = writeln!(out, "{mac} port {port} ({name}){local} age {age:.2} s");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forwarding_entry_names_its_port() {
        let mut raw = vec![2, 0, 0, 0, 2, 0, 1, 0];
        raw.extend(250u32.to_ne_bytes());
        raw.extend([0, 0, 0, 0]);
        raw.extend([2, 0, 0, 0, 0, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        let ports = HashMap::from([(1, "ap0".to_owned()), (2, "ap1".to_owned())]);
        assert_eq!(
            describe_forwarding(&raw, &ports),
            "02:00:00:00:02:00 port 1 (ap0) age 2.50 s\n02:00:00:00:00:00 port 2 (ap1) local age 0.00 s\n"
        );
    }
}
