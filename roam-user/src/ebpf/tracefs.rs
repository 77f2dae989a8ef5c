//! Tracepoint record layouts from tracefs `format` files, the kernel's own description of each
//! event. Field offsets change between kernels (fields are added and reordered), so they are
//! read here at load time rather than compiled in.

use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context as _, Result};

/// Where tracefs is mounted (modern kernels), and its older location under debugfs.
const TRACEFS_ROOTS: &[&str] = &["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub offset: u32,
    pub size: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Format {
    pub fields: Vec<Field>,
}

impl Format {
    pub fn offset(&self, name: &str) -> Option<u32> {
        self.fields.iter().find(|f| f.name == name).map(|f| f.offset)
    }
}

/// The mounted tracefs root, if any.
pub fn root() -> Option<PathBuf> {
    TRACEFS_ROOTS.iter().map(PathBuf::from).find(|p| p.join("events").is_dir())
}

/// The format of `category:name`, or `None` if the running kernel lacks the tracepoint (its
/// subsystem may be a module that is not loaded, or absent from this kernel).
pub fn read_format(root: &Path, category: &str, name: &str) -> Result<Option<Format>> {
    let path = root.join("events").join(category).join(name).join("format");
    match fs::read_to_string(&path) {
        Ok(text) => Ok(Some(parse_format(&text))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Parses the `field:` lines of a format file:
/// `field:__data_loc char[] dev;<TAB>offset:12;<TAB>size:4;<TAB>signed:0;`
pub fn parse_format(text: &str) -> Format {
    let fields = text
        .lines()
        .filter_map(|line| {
            let mut parts = line.trim().split(';').map(str::trim);
            let decl = parts.next()?.strip_prefix("field:")?;
            let mut offset = None;
            let mut size = None;
            for part in parts {
                if let Some(v) = part.strip_prefix("offset:") {
                    offset = v.parse().ok();
                } else if let Some(v) = part.strip_prefix("size:") {
                    size = v.parse().ok();
                }
            }
            Some(Field { name: field_name(decl)?.to_owned(), offset: offset?, size: size? })
        })
        .collect();
    Format { fields }
}

/// The identifier of a C declaration: `u8 lladdr[32]` -> `lladdr`, `void * skbaddr` -> `skbaddr`.
fn field_name(decl: &str) -> Option<&str> {
    let last = decl.split_whitespace().last()?;
    let name = last.split('[').next()?.trim_start_matches('*');
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Linux 6.18's skb:kfree_skb and neigh:neigh_update, verbatim.
    const KFREE_SKB: &str = "name: kfree_skb
ID: 2310
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:void * skbaddr;\toffset:8;\tsize:8;\tsigned:0;
\tfield:void * location;\toffset:16;\tsize:8;\tsigned:0;
\tfield:void * rx_sk;\toffset:24;\tsize:8;\tsigned:0;
\tfield:unsigned short protocol;\toffset:32;\tsize:2;\tsigned:0;
\tfield:enum skb_drop_reason reason;\toffset:36;\tsize:4;\tsigned:0;

print fmt: \"skbaddr=%p rx_sk=%p protocol=%u location=%pS reason: %s\", REC->skbaddr
";

    const NEIGH_UPDATE: &str = "format:
\tfield:u32 family;\toffset:8;\tsize:4;\tsigned:0;
\tfield:__data_loc char[] dev;\toffset:12;\tsize:4;\tsigned:0;
\tfield:u8 lladdr[32];\toffset:16;\tsize:32;\tsigned:0;
\tfield:u8 nud_state;\toffset:50;\tsize:1;\tsigned:0;
\tfield:u8 new_state;\toffset:136;\tsize:1;\tsigned:0;
";

    #[test]
    fn kfree_skb_fields() {
        let f = parse_format(KFREE_SKB);
        assert_eq!(f.fields.len(), 9);
        assert_eq!(f.offset("skbaddr"), Some(8));
        assert_eq!(f.offset("reason"), Some(36));
        assert_eq!(f.offset("common_pid"), Some(4));
        assert_eq!(f.offset("nope"), None);
    }

    #[test]
    fn arrays_and_data_loc_fields() {
        let f = parse_format(NEIGH_UPDATE);
        assert_eq!(f.offset("dev"), Some(12));
        assert_eq!(f.offset("lladdr"), Some(16));
        assert_eq!(f.fields.iter().find(|x| x.name == "lladdr").map(|x| x.size), Some(32));
        assert_eq!(f.offset("new_state"), Some(136));
    }

    #[test]
    fn garbage_lines_are_skipped() {
        assert!(parse_format("field:;offset:x;\nrandom\nfield:int a;\toffset:1;")
            .fields
            .is_empty());
    }

    #[test]
    fn missing_tracepoint_is_none() {
        let dir = std::env::temp_dir().join(format!("roam-tracefs-{}", std::process::id()));
        assert_eq!(read_format(&dir, "cfg80211", "cfg80211_rx_mlme_mgmt").unwrap(), None);
    }
}
