//! A writer for the initramfs format: "newc" cpio (the kernel's `usr/gen_init_cpio` format).
//!
//! Archives written here can be concatenated: the kernel unpacks each in turn, later entries
//! replacing earlier ones, which is how the small per-build project archive is layered over the
//! cached base archive.

use std::{
    collections::HashSet,
    io::{self, Write},
};

const MODE_DIR: u32 = 0o040_000;
const MODE_FILE: u32 = 0o100_000;
const MODE_SYMLINK: u32 = 0o120_000;
const MODE_CHAR_DEVICE: u32 = 0o020_000;

pub struct CpioWriter<W: Write> {
    out: W,
    written: u64,
    next_inode: u32,
    dirs: HashSet<String>,
}

impl<W: Write> CpioWriter<W> {
    pub fn new(out: W) -> Self {
        CpioWriter { out, written: 0, next_inode: 1, dirs: HashSet::new() }
    }

    /// A directory (and its missing parents). Paths are absolute guest paths.
    pub fn dir(&mut self, path: &str) -> io::Result<()> {
        let path = relative(path);
        if path.is_empty() || self.dirs.contains(path) {
            return Ok(());
        }
        if let Some((parent, _)) = path.rsplit_once('/') {
            self.dir(parent)?;
        }
        self.dirs.insert(path.to_owned());
        self.entry(path, MODE_DIR | 0o755, 2, (0, 0), &[])
    }

    pub fn file(&mut self, path: &str, mode: u32, data: &[u8]) -> io::Result<()> {
        self.parent_of(path)?;
        self.entry(relative(path), MODE_FILE | (mode & 0o7777), 1, (0, 0), data)
    }

    pub fn symlink(&mut self, path: &str, target: &str) -> io::Result<()> {
        self.parent_of(path)?;
        self.entry(relative(path), MODE_SYMLINK | 0o777, 1, (0, 0), target.as_bytes())
    }

    pub fn char_device(&mut self, path: &str, mode: u32, major: u32, minor: u32) -> io::Result<()> {
        self.parent_of(path)?;
        self.entry(relative(path), MODE_CHAR_DEVICE | (mode & 0o7777), 1, (major, minor), &[])
    }

    /// Writes the trailer and pads the archive to 512 bytes (so the next one starts aligned).
    pub fn finish(mut self) -> io::Result<W> {
        self.entry("TRAILER!!!", 0, 1, (0, 0), &[])?;
        let padding = (512 - self.written % 512) % 512;
        self.out.write_all(&vec![0; padding as usize])?;
        Ok(self.out)
    }

    fn parent_of(&mut self, path: &str) -> io::Result<()> {
        match relative(path).rsplit_once('/') {
            Some((parent, _)) => self.dir(parent),
            None => Ok(()),
        }
    }

    fn entry(
        &mut self,
        name: &str,
        mode: u32,
        nlink: u32,
        (rdev_major, rdev_minor): (u32, u32),
        data: &[u8],
    ) -> io::Result<()> {
        let inode = self.next_inode;
        self.next_inode += 1;
        let header = format!(
            "070701{inode:08x}{mode:08x}{uid:08x}{gid:08x}{nlink:08x}{mtime:08x}{size:08x}\
             {dev_major:08x}{dev_minor:08x}{rdev_major:08x}{rdev_minor:08x}{namesize:08x}{check:08x}",
            uid = 0,
            gid = 0,
            mtime = 0,
            size = data.len(),
            dev_major = 0,
            dev_minor = 0,
            namesize = name.len() + 1,
            check = 0,
        );
        self.write_padded(&[header.as_bytes(), name.as_bytes(), b"\0"].concat())?;
        self.write_padded(data)
    }

    /// Header+name and data are each padded to 4 bytes.
    fn write_padded(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        let padding = (4 - bytes.len() % 4) % 4;
        self.out.write_all(&[0; 3][..padding])?;
        self.written += (bytes.len() + padding) as u64;
        Ok(())
    }
}

fn relative(path: &str) -> &str {
    path.trim_start_matches('/').trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    use super::CpioWriter;

    #[test]
    fn entries_are_newc_and_aligned() {
        let mut cpio = CpioWriter::new(Vec::new());
        cpio.file("/usr/bin/hello", 0o755, b"hi!").unwrap();
        cpio.symlink("/sbin", "usr/sbin").unwrap();
        let bytes = cpio.finish().unwrap();
        assert_eq!(bytes.len() % 512, 0);
        let text = String::from_utf8_lossy(&bytes);
        // Parents come first, once.
        let usr = text.find("usr\0").unwrap();
        let usr_bin = text.find("usr/bin\0").unwrap();
        let hello = text.find("usr/bin/hello\0").unwrap();
        assert!(usr < usr_bin && usr_bin < hello);
        assert_eq!(text.matches("usr/bin\0").count(), 1);
        assert!(text.starts_with("070701"));
        assert!(text.contains("TRAILER!!!"));
        // The file's header: mode 0100755, size 3, name size 14.
        let header = &text[hello - 110..hello];
        assert_eq!(&header[14..22], "000081ed");
        assert_eq!(&header[54..62], "00000003");
        assert_eq!(&header[94..102], "0000000e");
    }
}
