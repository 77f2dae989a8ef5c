//! Kernel struct member offsets from the running kernel's BTF: `/sys/kernel/btf/vmlinux`, and a
//! module's split BTF on top of it (`/sys/kernel/btf/mac80211`).
//!
//! vmlinux's BTF is read in place (btf-rs's mmap backend), not parsed whole: a full parse of
//! its 5 MB costs ~40 MB of memory, which was most of the agent's peak resident set, for a
//! dozen lookups done once.

use std::{fs::File, io, os::fd::AsRawFd as _, path::Path};

use anyhow::{anyhow, bail, Context as _, Result};
use btf_rs::{Backend, Btf, Type};
use nix::sys::memfd::{memfd_create, MemFdCreateFlag};
use roam_common::layout::{Mac80211Layout, NeighLayout, NetDevLayout, ABSENT};

pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";
/// Where a loaded module's BTF is.
const MODULE_BTF_DIR: &str = "/sys/kernel/btf";

pub struct KernelBtf {
    btf: Btf,
}

impl KernelBtf {
    pub fn load() -> Result<Self> {
        Self::from_file(Path::new(VMLINUX_BTF))
    }

    pub fn from_file(path: &Path) -> Result<Self> {
        let btf = Btf::from_file_with_backend(path, Backend::Mmap)
            // /sys/kernel/btf/vmlinux can be mapped since Linux 6.16; before, a copy in memory
            // can.
            .or_else(|_| mapped_copy(path))
            .with_context(|| {
                format!("cannot read kernel BTF at {}: roam needs a kernel built with CONFIG_DEBUG_INFO_BTF=y", path.display())
            })?;
        Ok(Self { btf })
    }

    /// The type id of kernel function `name` (its `BTF_KIND_FUNC`), what fentry attaches by.
    pub fn function_id(&self, name: &str) -> Result<u32> {
        for id in self.btf.resolve_ids_by_name(name)? {
            if matches!(self.btf.resolve_type_by_id(id)?, Type::Func(_)) {
                return Ok(id);
            }
        }
        bail!("no function {name} in the kernel's BTF")
    }

    /// The BTF of a loaded module (split BTF on top of this vmlinux BTF).
    pub fn module(&self, module: &str) -> Result<KernelBtf> {
        let path = Path::new(MODULE_BTF_DIR).join(module);
        if !path.exists() {
            bail!("{} is missing: the {module} module is not loaded", path.display());
        }
        let btf = Btf::from_split_file(&path, &self.btf).with_context(|| {
            format!("cannot read the {module} module's BTF at {}", path.display())
        })?;
        Ok(Self { btf })
    }

    /// Byte offset of `path` (member names, descending into nested structs) inside `struct root`.
    /// Anonymous struct/union members are searched through, as C does.
    pub fn member_offset(&self, root: &str, path: &[&str]) -> Result<u32> {
        let mut ty = self.struct_named(root)?;
        let mut offset_bits = 0u32;
        for (i, name) in path.iter().enumerate() {
            let (bits, member_ty) = self
                .find_member(&ty, name)?
                .ok_or_else(|| anyhow!("struct {root} has no member {}", path[..=i].join(".")))?;
            offset_bits += bits;
            ty = member_ty;
        }
        if !offset_bits.is_multiple_of(8) {
            bail!("{root}.{} is a bitfield", path.join("."));
        }
        Ok(offset_bits / 8)
    }

    /// Names of `enum name`'s values with `prefix` stripped, e.g. skb_drop_reason's
    /// `SKB_DROP_REASON_QDISC_DROP` -> (64, "QDISC_DROP").
    pub fn enum_values(&self, name: &str, prefix: &str) -> Result<Vec<(u64, String)>> {
        for ty in self.btf.resolve_types_by_name(name)? {
            match ty {
                Type::Enum(e) => {
                    return e
                        .members
                        .iter()
                        .map(|m| {
                            let n = self.btf.resolve_name(m)?;
                            Ok((m.val() as u64, n.strip_prefix(prefix).unwrap_or(&n).to_owned()))
                        })
                        .collect();
                }
                Type::Enum64(e) => {
                    return e
                        .members
                        .iter()
                        .map(|m| {
                            let n = self.btf.resolve_name(m)?;
                            Ok((m.val(), n.strip_prefix(prefix).unwrap_or(&n).to_owned()))
                        })
                        .collect();
                }
                _ => {}
            }
        }
        bail!("the kernel BTF has no enum {name}")
    }

    fn struct_named(&self, name: &str) -> Result<Type> {
        self.btf
            .resolve_types_by_name(name)
            .with_context(|| format!("struct {name} is not in the kernel BTF"))?
            .into_iter()
            .find(|t| matches!(t, Type::Struct(s) if !s.members.is_empty()))
            .ok_or_else(|| anyhow!("struct {name} is not in the kernel BTF"))
    }

    /// (bit offset, type) of member `name` of a struct/union, looking through anonymous members.
    fn find_member(&self, ty: &Type, name: &str) -> Result<Option<(u32, Type)>> {
        let members = match ty {
            Type::Struct(s) | Type::Union(s) => &s.members,
            _ => return Ok(None),
        };
        for m in members {
            let member_name = self.btf.resolve_name(m).unwrap_or_default();
            let member_ty = self.strip_modifiers(self.btf.resolve_chained_type(m)?)?;
            if member_name == name {
                return Ok(Some((m.bit_offset(), member_ty)));
            }
            if member_name.is_empty() {
                if let Some((bits, t)) = self.find_member(&member_ty, name)? {
                    return Ok(Some((m.bit_offset() + bits, t)));
                }
            }
        }
        Ok(None)
    }

    /// Follows typedef/const/volatile to the underlying type.
    fn strip_modifiers(&self, mut ty: Type) -> Result<Type> {
        for _ in 0..16 {
            match &ty {
                Type::Typedef(t) => ty = self.btf.resolve_chained_type(t)?,
                Type::Const(t) | Type::Volatile(t) | Type::Restrict(t) => {
                    ty = self.btf.resolve_chained_type(t)?
                }
                Type::TypeTag(t) => ty = self.btf.resolve_chained_type(t)?,
                _ => return Ok(ty),
            }
        }
        Ok(ty)
    }

    /// The offsets every hook follows to a net_device (and the drop program from an skb). The
    /// namespace offsets are optional: without them programs compare the ifindex only.
    pub fn netdev_layout(&self) -> Result<NetDevLayout> {
        Ok(NetDevLayout {
            skb_dev: self.member_offset("sk_buff", &["dev"])?,
            skb_sk: self.member_offset("sk_buff", &["sk"]).unwrap_or(ABSENT),
            skb_protocol: self.member_offset("sk_buff", &["protocol"])?,
            dev_ifindex: self.member_offset("net_device", &["ifindex"])?,
            dev_nd_net: self.member_offset("net_device", &["nd_net", "net"]).unwrap_or(ABSENT),
            net_ns_inum: self.member_offset("net", &["ns", "inum"]).unwrap_or(ABSENT),
            // The drop reasons and kfree_skb's reason argument came together (Linux 5.17).
            kfree_skb_has_reason: self.has_enum("skb_drop_reason") as u32,
        })
    }

    /// `struct neighbour`'s members the neighbour programs read.
    pub fn neigh_layout(&self) -> Result<NeighLayout> {
        Ok(NeighLayout {
            dev: self.member_offset("neighbour", &["dev"])?,
            nud_state: self.member_offset("neighbour", &["nud_state"])?,
        })
    }

    /// mac80211's members (this must be the mac80211 module's BTF, see [`KernelBtf::module`]).
    pub fn mac80211_layout(&self) -> Result<Mac80211Layout> {
        Ok(Mac80211Layout {
            sdata_dev: self.member_offset("ieee80211_sub_if_data", &["dev"])?,
            sta_addr: self.member_offset("ieee80211_sta", &["addr"])?,
        })
    }

    fn has_enum(&self, name: &str) -> bool {
        self.btf
            .resolve_types_by_name(name)
            .is_ok_and(|types| types.iter().any(|t| matches!(t, Type::Enum(_) | Type::Enum64(_))))
    }
}

/// `path` copied into an anonymous memory file, read in place from there (the copy goes with
/// the returned BTF).
fn mapped_copy(path: &Path) -> Result<Btf> {
    let copy = File::from(memfd_create(c"roam-btf", MemFdCreateFlag::MFD_CLOEXEC)?);
    io::copy(&mut File::open(path)?, &mut &copy)?;
    // The mapping keeps the file's pages once made: the descriptor can close after.
    let btf =
        Btf::from_file_with_backend(format!("/proc/self/fd/{}", copy.as_raw_fd()), Backend::Mmap)?;
    Ok(btf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs against the host kernel's BTF where there is one (every CI machine here has it).
    fn host() -> Option<KernelBtf> {
        Path::new(VMLINUX_BTF).exists().then(|| KernelBtf::load().unwrap())
    }

    #[test]
    fn a_copy_reads_the_same_as_the_file() {
        let Some(btf) = host() else { return };
        let copy = KernelBtf { btf: mapped_copy(Path::new(VMLINUX_BTF)).unwrap() };
        assert_eq!(copy.netdev_layout().unwrap(), btf.netdev_layout().unwrap());
    }

    #[test]
    fn netdev_offsets_are_plausible() {
        let Some(btf) = host() else { return };
        let l = btf.netdev_layout().unwrap();
        // sk_buff.dev sits in the first cache line's anonymous union; ifindex well inside
        // net_device; all are naturally aligned.
        assert_eq!(l.skb_dev % 8, 0);
        assert!(l.skb_dev < 64, "skb->dev at {}", l.skb_dev);
        assert_eq!(l.dev_ifindex % 4, 0);
        assert!(l.dev_ifindex > 0 && l.dev_ifindex < 4096);
        assert_ne!(l.dev_nd_net, ABSENT);
        assert_ne!(l.net_ns_inum, ABSENT);
        assert!(l.skb_protocol > l.skb_dev && l.skb_protocol % 2 == 0, "{l:?}");
        assert_eq!(l.kfree_skb_has_reason, 1, "every kernel since 5.17 passes a drop reason");
        let n = btf.neigh_layout().unwrap();
        assert!(n.dev > 0 && n.dev % 8 == 0 && n.nud_state > 0, "{n:?}");
    }

    #[test]
    fn a_module_that_is_not_loaded_is_named() {
        let Some(btf) = host() else { return };
        let err = btf.module("no_such_module_xyz").err().unwrap().to_string();
        assert!(err.contains("the no_such_module_xyz module is not loaded"), "{err}");
    }

    #[test]
    fn unknown_members_are_errors() {
        let Some(btf) = host() else { return };
        let err = btf.member_offset("sk_buff", &["no_such_member"]).unwrap_err();
        assert!(err.to_string().contains("no member no_such_member"), "{err}");
        assert!(btf.member_offset("no_such_struct_xyz", &["a"]).is_err());
    }

    #[test]
    fn drop_reason_names() {
        let Some(btf) = host() else { return };
        let reasons = btf.enum_values("skb_drop_reason", "SKB_DROP_REASON_").unwrap();
        assert!(reasons.iter().any(|(_, n)| n == "QDISC_DROP"));
        assert!(reasons.iter().any(|(v, n)| *v == 2 && n == "NOT_SPECIFIED"));
    }
}
