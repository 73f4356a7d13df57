//! Guest memory as RAM blocks: the source image a sender reads, and the destination memory a
//! receiver decompresses into.
//!
//! A source is any byte slice per block: a memory-mapped image file, a directory of block
//! images (what `pageflate extract` and `pageflate recv --out` write), a zstd-compressed
//! image, or a region the embedding VMM hands over ([`SourceRam::from_blocks`]).
//!
//! The destination ([`DestRam`]) is shared by all receiving channel threads. Each thread
//! writes whole pages through [`DestRam::with_page`], which first claims the page with an
//! atomic flag: two channels never hold the same page at once, even when a hostile sender
//! names one page in two channels, so every `&mut [u8]` handed out is exclusive. Offsets
//! are checked against the block, so nothing is ever written outside the memory given.

use memmap2::{Mmap, MmapMut, MmapOptions};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Bytes of one source RAM block (an mmap, a vector, or the VMM's own memory).
pub type BlockBytes = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// A RAM block to send.
#[derive(Clone)]
pub struct SourceBlock {
    /// The block's id string (`pc.ram`).
    pub name: String,
    /// Its contents (a whole number of pages).
    pub data: BlockBytes,
}

impl SourceBlock {
    /// The block's bytes.
    pub fn bytes(&self) -> &[u8] {
        (*self.data).as_ref()
    }
}

impl fmt::Debug for SourceBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SourceBlock({}, {} bytes)",
            self.name,
            self.bytes().len()
        )
    }
}

/// Guest memory to send: RAM blocks of `page_size` pages.
#[derive(Clone, Debug)]
pub struct SourceRam {
    /// Page size (4096 for x86 guests).
    pub page_size: usize,
    /// Blocks in the order they are announced.
    pub blocks: Vec<SourceBlock>,
}

/// A problem with guest memory: what and which file or block.
#[derive(Debug)]
pub struct RamError(pub String);

impl fmt::Display for RamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RamError {}

fn io_err(path: &Path, what: &str, e: std::io::Error) -> RamError {
    RamError(format!("{}: {what}: {e}", path.display()))
}

/// Name given to the block of a single image file.
pub const DEFAULT_BLOCK: &str = "pc.ram";

impl SourceRam {
    /// Blocks the caller already has in memory (e.g. the VMM's guest memory regions).
    /// Each must be a whole number of pages.
    pub fn from_blocks(page_size: usize, blocks: Vec<SourceBlock>) -> Result<Self, RamError> {
        for b in &blocks {
            check_len(&b.name, b.bytes().len(), page_size)?;
        }
        Ok(Self { page_size, blocks })
    }

    /// Open an image: a file (memory-mapped; `.zst` files are decompressed into memory)
    /// becomes one block named `pc.ram`; a directory becomes one block per `*.bin` file
    /// (named by the file's stem, in name order), as `pageflate extract` writes them.
    pub fn open(path: &Path, page_size: usize) -> Result<Self, RamError> {
        let blocks = if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| io_err(path, "cannot list", e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "bin"))
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(RamError(format!(
                    "{}: no RAM block images (*.bin) in this directory",
                    path.display()
                )));
            }
            files
                .iter()
                .map(|f| {
                    let name = f.file_stem().unwrap_or_default().to_string_lossy();
                    Ok(SourceBlock {
                        name: name.into_owned(),
                        data: load_file(f)?,
                    })
                })
                .collect::<Result<Vec<_>, RamError>>()?
        } else {
            vec![SourceBlock {
                name: DEFAULT_BLOCK.into(),
                data: load_file(path)?,
            }]
        };
        Self::from_blocks(page_size, blocks)
            .map_err(|e| RamError(format!("{}: {e}", path.display())))
    }

    /// Total bytes over all blocks.
    pub fn total_bytes(&self) -> u64 {
        self.blocks.iter().map(|b| b.bytes().len() as u64).sum()
    }
}

fn check_len(name: &str, len: usize, page_size: usize) -> Result<(), RamError> {
    if len == 0 || len % page_size != 0 {
        return Err(RamError(format!(
            "RAM block {name} is {len} bytes, not a whole non-zero number of {page_size}-byte pages"
        )));
    }
    Ok(())
}

fn load_file(path: &Path) -> Result<BlockBytes, RamError> {
    let file = File::open(path).map_err(|e| io_err(path, "cannot open", e))?;
    if path.extension().is_some_and(|x| x == "zst") {
        let data = zstd::stream::decode_all(std::io::BufReader::new(file))
            .map_err(|e| io_err(path, "cannot decompress (zstd)", e))?;
        return Ok(Arc::new(data));
    }
    if file.metadata().map(|m| m.len()).unwrap_or(0) == 0 {
        return Err(RamError(format!("{}: the image is empty", path.display())));
    }
    // SAFETY: the map is read-only; a file truncated by another process while mapped would
    // fault (SIGBUS) as with any mmap-based reader. Images are not expected to change
    // during a send, as QEMU's own file-backed RAM.
    let map = unsafe { Mmap::map(&file) }.map_err(|e| io_err(path, "cannot map", e))?;
    Ok(Arc::new(map))
}

/// Where destination memory lives.
#[derive(Debug, Clone)]
pub enum Backing {
    /// Anonymous memory.
    Memory,
    /// One file per block in this directory (`<block>.bin`, as `extract` names them),
    /// memory-mapped, so the RAM is on disk when the receive ends.
    Dir(PathBuf),
}

struct DestBlock {
    name: String,
    map: MmapMut,
    /// The mapping's start, taken once with `&mut` access when it was created.
    ptr: *mut u8,
    claims: Box<[AtomicBool]>,
    path: Option<PathBuf>,
}

/// Destination guest memory, written page by page by several channel threads at once.
pub struct DestRam {
    page_size: usize,
    blocks: Vec<DestBlock>,
}

// SAFETY: pages are only written through `with_page`, which gives out a page's bytes only
// while holding that page's claim flag (exclusive access); reads of whole blocks need
// `&mut self`, so they cannot overlap any writer.
unsafe impl Sync for DestRam {}
// SAFETY: the raw pointers point into mappings the value owns; moving the owner to another
// thread moves the mappings with it.
unsafe impl Send for DestRam {}

impl fmt::Debug for DestRam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<_> = self.blocks.iter().map(|b| (&b.name, b.map.len())).collect();
        write!(f, "DestRam{names:?}")
    }
}

impl DestRam {
    /// Zero-filled memory for `layout` (name, bytes), each a whole number of pages.
    /// `prefault` touches every page first (QEMU's `-mem-prealloc` lesson: page faults in
    /// the receiving threads are what limits the receive rate).
    pub fn create(
        layout: &[(String, u64)],
        page_size: usize,
        backing: &Backing,
        prefault: bool,
    ) -> Result<Self, RamError> {
        let mut blocks = Vec::with_capacity(layout.len());
        for (name, len) in layout {
            let len = usize::try_from(*len)
                .map_err(|_| RamError(format!("RAM block {name}: {len} bytes do not fit")))?;
            check_len(name, len, page_size)?;
            let (map, path) = match backing {
                Backing::Memory => {
                    let mut o = MmapOptions::new();
                    o.len(len);
                    if prefault {
                        o.populate();
                    }
                    let map = o
                        .map_anon()
                        .map_err(|e| RamError(format!("RAM block {name}: {len} bytes: {e}")))?;
                    (map, None)
                }
                Backing::Dir(dir) => {
                    let path = dir.join(format!("{}.bin", crate::inspect::file_safe(name)));
                    let file = OpenOptions::new()
                        .read(true)
                        .write(true)
                        .create(true)
                        .truncate(true)
                        .open(&path)
                        .map_err(|e| io_err(&path, "cannot create", e))?;
                    file.set_len(len as u64)
                        .map_err(|e| io_err(&path, "cannot size", e))?;
                    let mut o = MmapOptions::new();
                    if prefault {
                        o.populate();
                    }
                    // SAFETY: the file was just created and truncated by us; nothing else
                    // is expected to resize it while the receive runs.
                    let map =
                        unsafe { o.map_mut(&file) }.map_err(|e| io_err(&path, "cannot map", e))?;
                    (map, Some(path))
                }
            };
            let claims = (0..len / page_size)
                .map(|_| AtomicBool::new(false))
                .collect();
            let mut map = map;
            let ptr = map.as_mut_ptr();
            blocks.push(DestBlock {
                name: name.clone(),
                map,
                ptr,
                claims,
                path,
            });
        }
        Ok(Self { page_size, blocks })
    }

    /// Page size.
    pub fn page_size(&self) -> usize {
        self.page_size
    }

    /// Index of the block named `name`.
    pub fn block_index(&self, name: &str) -> Option<usize> {
        self.blocks.iter().position(|b| b.name == name)
    }

    /// Length of block `block` in bytes.
    pub fn block_len(&self, block: usize) -> u64 {
        self.blocks.get(block).map_or(0, |b| b.map.len() as u64)
    }

    /// Names and lengths of the blocks.
    pub fn layout(&self) -> Vec<(String, u64)> {
        self.blocks
            .iter()
            .map(|b| (b.name.clone(), b.map.len() as u64))
            .collect()
    }

    /// Run `f` on the page at `offset` of block `block` with exclusive access to its
    /// bytes. `None` when the page is outside the block (nothing is touched then).
    pub fn with_page<R>(
        &self,
        block: usize,
        offset: u64,
        f: impl FnOnce(&mut [u8]) -> R,
    ) -> Option<R> {
        let b = self.blocks.get(block)?;
        let ps = self.page_size as u64;
        if offset % ps != 0 {
            return None;
        }
        let index = usize::try_from(offset / ps).ok()?;
        let claim = b.claims.get(index)?;
        while claim
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            // Only a sender that puts one page in two channels at once gets here.
            std::thread::yield_now();
        }
        // SAFETY: index < pages in the block, so the page lies inside the mapping; the claim
        // flag held above makes this the only live reference to these bytes (every writer
        // goes through this function, and whole-block reads need `&mut self`).
        let page = unsafe {
            std::slice::from_raw_parts_mut(b.ptr.add(index * self.page_size), self.page_size)
        };
        let r = f(page);
        claim.store(false, Ordering::Release);
        Some(r)
    }

    /// The contents of block `block`.
    pub fn block_bytes(&mut self, block: usize) -> &[u8] {
        self.blocks.get(block).map_or(&[], |b| &b.map[..])
    }

    /// Write file-backed blocks to disk; returns the files.
    pub fn flush(&self) -> Result<Vec<PathBuf>, RamError> {
        let mut files = Vec::new();
        for b in &self.blocks {
            if let Some(path) = &b.path {
                b.map.flush().map_err(|e| io_err(path, "cannot write", e))?;
                files.push(path.clone());
            }
        }
        Ok(files)
    }
}
