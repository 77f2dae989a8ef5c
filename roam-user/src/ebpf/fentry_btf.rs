//! The kernel's BTF as aya's fentry loader reads it. `FEntry::load` looks a function's type id
//! up by name in an `aya::Btf`, and the kernel checks the program against its own BTF by that
//! id: nothing else of the BTF is read. Parsed whole into aya's types, vmlinux's BTF costs
//! ~18 MB, the larger part of the agent's peak memory, for two lookups. This builds one that
//! holds only the functions roam attaches to, at their ids (found in the kernel's BTF read in
//! place, see `super::btf`), with empty placeholders before them.

use aya::Btf;
use aya_obj::btf::{BtfType, Func, FuncLinkage};

/// A BTF in which each of `functions` (name, type id in the kernel's BTF) is found by name at
/// its id.
pub fn naming(functions: &[(&str, u32)]) -> Btf {
    let mut btf = Btf::new();
    let last = functions.iter().map(|&(_, id)| id).max().unwrap_or(0);
    for id in 1..=last {
        let ty = match functions.iter().find(|&&(_, f)| f == id) {
            // No prototype: aya does not follow it, and the kernel uses its own.
            Some((name, _)) => {
                BtfType::Func(Func::new(btf.add_string(name), 0, FuncLinkage::Global))
            }
            None => BtfType::Unknown,
        };
        btf.add_type(ty);
    }
    btf
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use aya_obj::btf::BtfKind;

    use super::*;
    use crate::ebpf::btf::{KernelBtf, VMLINUX_BTF};

    #[test]
    fn functions_are_found_at_their_ids() {
        let btf = naming(&[("netif_carrier_off", 7), ("netif_carrier_on", 3)]);
        assert_eq!(btf.id_by_type_name_kind("netif_carrier_on", BtfKind::Func).unwrap(), 3);
        assert_eq!(btf.id_by_type_name_kind("netif_carrier_off", BtfKind::Func).unwrap(), 7);
        assert!(btf.id_by_type_name_kind("netif_rx", BtfKind::Func).is_err());
    }

    /// The ids the kernel's own BTF gives, as aya would find them in the whole of it.
    #[test]
    fn the_kernels_ids_are_what_a_full_parse_finds() {
        if !Path::new(VMLINUX_BTF).exists() {
            return;
        }
        let kernel = KernelBtf::load().unwrap();
        let full = Btf::from_sys_fs().unwrap();
        let names = ["netif_carrier_on", "netif_carrier_off"];
        let ids: Vec<(&str, u32)> =
            names.iter().map(|&n| (n, kernel.function_id(n).unwrap())).collect();
        let sparse = naming(&ids);
        for name in names {
            assert_eq!(
                sparse.id_by_type_name_kind(name, BtfKind::Func).unwrap(),
                full.id_by_type_name_kind(name, BtfKind::Func).unwrap(),
                "{name}"
            );
        }
    }
}
