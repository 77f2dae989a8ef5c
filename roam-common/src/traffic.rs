//! Which packets a drop window counts: the station's data traffic, the IP datagrams its
//! applications send. Link control (ARP, EAPOL, LLDP) is the machinery of the transition, not
//! what it costs a user: an ARP probe dropped while the carrier is off loses nobody's data.

/// IPv4 (`ETH_P_IP`).
pub const ETH_P_IP: u16 = 0x0800;
/// IPv6 (`ETH_P_IPV6`).
pub const ETH_P_IPV6: u16 = 0x86DD;

/// Whether a packet of this ethertype (host byte order) is data traffic.
#[inline(always)]
pub fn is_data(ethertype: u16) -> bool {
    ethertype == ETH_P_IP || ethertype == ETH_P_IPV6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_is_data_link_control_is_not() {
        assert!(is_data(0x0800));
        assert!(is_data(0x86DD));
        for control in [0x0806 /* ARP */, 0x888E /* EAPOL */, 0x88CC /* LLDP */, 0] {
            assert!(!is_data(control), "{control:#06x}");
        }
    }
}
