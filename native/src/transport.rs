//! Where migration channels travel: TCP, Unix sockets, or files in a directory — and
//! `--record DIR`, which tees every channel into a capture directory the inspector reads.
//!
//! Addresses are written like QEMU's URIs: `tcp:HOST:PORT` (or just `HOST:PORT`),
//! `unix:PATH`, `file:DIR`. With `file:DIR` a sender writes `DIR/conn-K.bin` (K = 0 for the
//! main channel, 1.. for multifd channels) and a receiver reads those files back — or the
//! `conn-K.bin.zst` files of a capture from `../shared/captures/`.

use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, IoSlice, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A channel address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `tcp:HOST:PORT`.
    Tcp(String),
    /// `unix:PATH`.
    Unix(PathBuf),
    /// `file:DIR`: one file per channel.
    Dir(PathBuf),
}

impl Endpoint {
    /// Parse `tcp:HOST:PORT`, `HOST:PORT`, `unix:PATH` or `file:DIR`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let e = if let Some(rest) = s.strip_prefix("tcp:") {
            Endpoint::Tcp(rest.to_string())
        } else if let Some(rest) = s.strip_prefix("unix:") {
            Endpoint::Unix(rest.into())
        } else if let Some(rest) = s.strip_prefix("file:") {
            Endpoint::Dir(rest.into())
        } else if s.contains(':') {
            Endpoint::Tcp(s.to_string())
        } else {
            return Err(format!(
                "address {s:?}: write tcp:HOST:PORT, unix:PATH or file:DIR"
            ));
        };
        match &e {
            Endpoint::Tcp(a) if !a.contains(':') => {
                Err(format!("address {s:?}: a TCP address needs HOST:PORT"))
            }
            Endpoint::Unix(p) | Endpoint::Dir(p) if p.as_os_str().is_empty() => {
                Err(format!("address {s:?}: the path is empty"))
            }
            _ => Ok(e),
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp(a) => write!(f, "tcp:{a}"),
            Endpoint::Unix(p) => write!(f, "unix:{}", p.display()),
            Endpoint::Dir(p) => write!(f, "file:{}", p.display()),
        }
    }
}

enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
    FileOut(BufWriter<File>),
    FileIn(Box<dyn Read + Send>),
}

/// One open channel (either direction), optionally recorded.
pub struct Conn {
    stream: Stream,
    record: Option<BufWriter<File>>,
    /// Accept or connect order (0 = first).
    pub index: usize,
}

/// Closes a connection from another thread (to cancel a blocked read or write).
pub struct ShutdownHandle(Option<Stream>);

impl ShutdownHandle {
    /// Shut the connection down in both directions; blocked reads return end-of-file.
    pub fn shutdown(&self) {
        match &self.0 {
            Some(Stream::Tcp(s)) => {
                let _ = s.shutdown(Shutdown::Both);
            }
            Some(Stream::Unix(s)) => {
                let _ = s.shutdown(Shutdown::Both);
            }
            _ => {}
        }
    }
}

impl Conn {
    fn new(stream: Stream, index: usize) -> Self {
        Self {
            stream,
            record: None,
            index,
        }
    }

    /// Tee every byte read or written into `path` (a capture file).
    pub fn record_to(&mut self, path: &Path) -> io::Result<()> {
        self.record = Some(BufWriter::new(File::create(path)?));
        Ok(())
    }

    /// A handle that can shut this connection down from another thread.
    pub fn shutdown_handle(&self) -> io::Result<ShutdownHandle> {
        Ok(ShutdownHandle(match &self.stream {
            Stream::Tcp(s) => Some(Stream::Tcp(s.try_clone()?)),
            Stream::Unix(s) => Some(Stream::Unix(s.try_clone()?)),
            _ => None,
        }))
    }

    /// Fail reads that wait longer than `timeout` for data (sockets only).
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match &self.stream {
            Stream::Tcp(s) => s.set_read_timeout(timeout),
            Stream::Unix(s) => s.set_read_timeout(timeout),
            _ => Ok(()),
        }
    }

    /// Write all of `bufs` (one `writev` per call where the socket takes it all).
    pub fn write_all_vectored(&mut self, mut bufs: &mut [IoSlice<'_>]) -> io::Result<()> {
        if let Some(r) = &mut self.record {
            for b in bufs.iter() {
                r.write_all(b)?;
            }
        }
        IoSlice::advance_slices(&mut bufs, 0);
        while !bufs.is_empty() {
            let n = match &mut self.stream {
                Stream::Tcp(s) => s.write_vectored(bufs),
                Stream::Unix(s) => s.write_vectored(bufs),
                Stream::FileOut(f) => f.write_vectored(bufs),
                Stream::FileIn(_) => return Err(read_only()),
            };
            match n {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => IoSlice::advance_slices(&mut bufs, n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Flush buffered output and the recording; close the write side.
    pub fn finish(&mut self) -> io::Result<()> {
        if let Some(r) = &mut self.record {
            r.flush()?;
        }
        match &mut self.stream {
            Stream::FileOut(f) => f.flush(),
            Stream::Tcp(s) => s.shutdown(Shutdown::Write),
            Stream::Unix(s) => s.shutdown(Shutdown::Write),
            Stream::FileIn(_) => Ok(()),
        }
    }
}

fn read_only() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "a replayed file channel is read-only",
    )
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match &mut self.stream {
            Stream::Tcp(s) => s.read(buf)?,
            Stream::Unix(s) => s.read(buf)?,
            Stream::FileIn(f) => f.read(buf)?,
            Stream::FileOut(_) => return Err(io::ErrorKind::Unsupported.into()),
        };
        if let Some(r) = &mut self.record {
            r.write_all(&buf[..n])?;
            if n == 0 {
                r.flush()?;
            }
        }
        Ok(n)
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all_vectored(&mut [IoSlice::new(buf)])?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.stream {
            Stream::FileOut(f) => f.flush(),
            _ => Ok(()),
        }
    }
}

/// Open channel `index` towards `to` (0 = main channel).
pub fn connect(to: &Endpoint, index: usize) -> io::Result<Conn> {
    let stream = match to {
        Endpoint::Tcp(a) => {
            let s = TcpStream::connect(a.as_str())?;
            s.set_nodelay(true)?;
            Stream::Tcp(s)
        }
        Endpoint::Unix(p) => Stream::Unix(UnixStream::connect(p)?),
        Endpoint::Dir(d) => {
            std::fs::create_dir_all(d)?;
            let f = File::create(d.join(format!("conn-{index}.bin")))?;
            Stream::FileOut(BufWriter::with_capacity(1 << 20, f))
        }
    };
    Ok(Conn::new(stream, index))
}

/// Accepts incoming channels.
pub enum Listener {
    /// A TCP listener.
    Tcp(TcpListener),
    /// A Unix-socket listener (the socket file is removed on drop).
    Unix(UnixListener, PathBuf),
    /// Channel files of a directory (still to hand out, the directory), one per accept.
    Dir(Vec<PathBuf>, PathBuf),
}

impl Listener {
    /// Listen on `at` (`tcp:HOST:0` picks a free port: see [`Listener::local_addr`]).
    pub fn bind(at: &Endpoint) -> io::Result<Self> {
        Ok(match at {
            Endpoint::Tcp(a) => {
                let l = TcpListener::bind(a.as_str())?;
                l.set_nonblocking(true)?;
                Listener::Tcp(l)
            }
            Endpoint::Unix(p) => {
                let _ = std::fs::remove_file(p);
                let l = UnixListener::bind(p)?;
                l.set_nonblocking(true)?;
                Listener::Unix(l, p.clone())
            }
            Endpoint::Dir(d) => {
                let mut files: Vec<PathBuf> = std::fs::read_dir(d)?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| {
                        let n = p.file_name().unwrap_or_default().to_string_lossy();
                        n.starts_with("conn-") && (n.ends_with(".bin") || n.ends_with(".bin.zst"))
                    })
                    .collect();
                files.sort();
                if files.is_empty() {
                    return Err(io::Error::new(
                        io::ErrorKind::NotFound,
                        format!("{}: no conn-K.bin channel files", d.display()),
                    ));
                }
                files.reverse(); // popped from the end
                Listener::Dir(files, d.clone())
            }
        })
    }

    /// The address to give a sender (with the port a `:0` bind picked).
    pub fn local_addr(&self) -> Endpoint {
        match self {
            Listener::Tcp(l) => Endpoint::Tcp(
                l.local_addr()
                    .map(|a| a.to_string())
                    .unwrap_or_else(|_| "?".into()),
            ),
            Listener::Unix(_, p) => Endpoint::Unix(p.clone()),
            Listener::Dir(_, d) => Endpoint::Dir(d.clone()),
        }
    }

    /// The next channel if one is waiting: `Ok(None)` when none is (sockets never block
    /// here), `Err(NotFound)` when a directory has no more files.
    pub fn try_accept(&mut self, index: usize) -> io::Result<Option<Conn>> {
        let stream = match self {
            Listener::Tcp(l) => match l.accept() {
                Ok((s, _)) => {
                    s.set_nonblocking(false)?;
                    s.set_nodelay(true)?;
                    Stream::Tcp(s)
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) => return Err(e),
            },
            Listener::Unix(l, _) => match l.accept() {
                Ok((s, _)) => {
                    s.set_nonblocking(false)?;
                    Stream::Unix(s)
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) => return Err(e),
            },
            Listener::Dir(files, _) => {
                let Some(p) = files.pop() else {
                    return Err(io::ErrorKind::NotFound.into());
                };
                let f = std::io::BufReader::with_capacity(1 << 20, File::open(&p)?);
                if p.extension().is_some_and(|x| x == "zst") {
                    Stream::FileIn(Box::new(zstd::stream::read::Decoder::with_buffer(f)?))
                } else {
                    Stream::FileIn(Box::new(f))
                }
            }
        };
        Ok(Some(Conn::new(stream, index)))
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix(_, p) = self {
            let _ = std::fs::remove_file(p);
        }
    }
}
