//! Loop devices: a regular file (a filesystem image) as a block device,
//! so mount(2) can take it (mount(8)'s `-o loop`, done here without the
//! util-linux tool).
//!
//! Why autoclear: the device is detached by the kernel when its last user
//! goes (the filesystem's unmount), so a crash between attach and mount or
//! after the mount leaves no device behind once the mount is gone; no
//! record of ours is needed to find it again.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

const LOOP_SET_FD: libc::Ioctl = 0x4C00;
const LOOP_CLR_FD: libc::Ioctl = 0x4C01;
const LOOP_SET_STATUS64: libc::Ioctl = 0x4C04;
const LOOP_CTL_GET_FREE: libc::Ioctl = 0x4C82;
const LO_FLAGS_READ_ONLY: u32 = 1;
const LO_FLAGS_AUTOCLEAR: u32 = 4;

/// `struct loop_info64` (linux/loop.h).
#[repr(C)]
struct LoopInfo64 {
    device: u64,
    inode: u64,
    rdevice: u64,
    offset: u64,
    sizelimit: u64,
    number: u32,
    encrypt_type: u32,
    encrypt_key_size: u32,
    flags: u32,
    file_name: [u8; 64],
    crypt_name: [u8; 64],
    encrypt_key: [u8; 32],
    init: [u64; 2],
}

/// An attached loop device; it detaches itself when its last user (the
/// mount) goes, or when this is dropped before anything used it.
pub struct LoopDevice {
    path: PathBuf,
    dev: Option<File>,
}

impl LoopDevice {
    /// The device node (`/dev/loopN`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Keeps the device for its users (the mount made from it): dropping
    /// the handle then no longer detaches it; the kernel does at the last
    /// unmount.
    pub fn keep(mut self) -> PathBuf {
        self.dev = None;
        std::mem::take(&mut self.path)
    }
}

impl Drop for LoopDevice {
    fn drop(&mut self) {
        if let Some(d) = &self.dev {
            // SAFETY: LOOP_CLR_FD takes no argument; the fd is ours.
            unsafe { libc::ioctl(d.as_raw_fd(), LOOP_CLR_FD, 0) };
        }
    }
}

/// Attaches `image` to a free loop device (autoclear).
pub fn attach(image: &Path, read_only: bool) -> Result<LoopDevice> {
    let backing = OpenOptions::new()
        .read(true)
        .write(!read_only)
        .open(image)
        .map_err(|e| Error::io("open the image", image, e))?;
    let ctl =
        File::open("/dev/loop-control").map_err(|e| Error::io("open", "/dev/loop-control", e))?;
    // Another process may take the free device between the two calls:
    // try again with the next one.
    for _ in 0..16 {
        // SAFETY: LOOP_CTL_GET_FREE takes no argument and returns a number.
        let n = unsafe { libc::ioctl(ctl.as_raw_fd(), LOOP_CTL_GET_FREE) };
        if n < 0 {
            return Err(Error::io(
                "find a free loop device through",
                "/dev/loop-control",
                std::io::Error::last_os_error(),
            ));
        }
        let path = PathBuf::from(format!("/dev/loop{n}"));
        let dev = OpenOptions::new()
            .read(true)
            .write(!read_only)
            .open(&path)
            .map_err(|e| Error::io("open", &path, e))?;
        // SAFETY: LOOP_SET_FD takes the backing file's descriptor.
        if unsafe { libc::ioctl(dev.as_raw_fd(), LOOP_SET_FD, backing.as_raw_fd()) } != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EBUSY) {
                continue;
            }
            return Err(Error::io("attach the image to", &path, e));
        }
        let loop_dev = LoopDevice {
            path: path.clone(),
            dev: Some(dev),
        };
        // SAFETY: a plain C struct; all zeroes is valid.
        let mut info: LoopInfo64 = unsafe { std::mem::zeroed() };
        info.flags = LO_FLAGS_AUTOCLEAR | if read_only { LO_FLAGS_READ_ONLY } else { 0 };
        let name = image.as_os_str().as_encoded_bytes();
        let n = name.len().min(63);
        info.file_name[..n].copy_from_slice(&name[..n]);
        let fd = loop_dev.dev.as_ref().map(|d| d.as_raw_fd()).unwrap_or(-1);
        // SAFETY: LOOP_SET_STATUS64 reads the struct loop_info64 of ours.
        if unsafe { libc::ioctl(fd, LOOP_SET_STATUS64, &info) } != 0 {
            return Err(Error::io(
                "configure",
                &path,
                std::io::Error::last_os_error(),
            ));
        }
        return Ok(loop_dev);
    }
    Err(Error::io(
        "attach the image (every free loop device was taken)",
        image,
        std::io::Error::from_raw_os_error(libc::EBUSY),
    ))
}
