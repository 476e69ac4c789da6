//! Where an import reads its file from: the sealed chunks of an upload in the database
//! ([`ChunkReader`]), or any reader (the CLI's file), counted in bytes as it is consumed
//! ([`Counted`]) for the job's progress.

use std::io::{BufRead, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use zeroize::Zeroizing;

use crate::crypto::SharedKeyring;
use crate::store::jobs::chunk_context;
use crate::store::{Store, StoreError};

/// Bytes per stored chunk of an upload.
pub const CHUNK: usize = 1 << 20;

/// An uploaded file read back chunk by chunk: one chunk (1 MiB) in memory at a time, opened
/// from its seal as it is reached and wiped when the next one replaces it.
pub struct ChunkReader {
    store: Store,
    keyring: SharedKeyring,
    job: String,
    next_seq: i32,
    buf: Zeroizing<Vec<u8>>,
    at: usize,
    ended: bool,
}

impl ChunkReader {
    /// A reader of `job`'s upload from its first byte.
    pub fn new(store: Store, keyring: SharedKeyring, job: String) -> Self {
        Self {
            store,
            keyring,
            job,
            next_seq: 0,
            buf: Zeroizing::new(Vec::new()),
            at: 0,
            ended: false,
        }
    }

    fn load_next(&mut self) -> std::io::Result<()> {
        let (job, seq) = (self.job.clone(), self.next_seq);
        let row = self
            .store
            .read_blocking(|c| Ok::<_, StoreError>(c.job_chunk(&job, seq)?))
            .map_err(std::io::Error::other)?;
        match row {
            None => self.ended = true,
            Some((id, sealed)) => {
                let ring = crate::crypto::read(&self.keyring).map_err(std::io::Error::other)?;
                self.buf = ring
                    .open(&chunk_context(&id.to_string()), &sealed)
                    .map_err(std::io::Error::other)?;
                self.at = 0;
                self.next_seq += 1;
            }
        }
        Ok(())
    }
}

impl Read for ChunkReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for ChunkReader {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        while self.at >= self.buf.len() && !self.ended {
            self.load_next()?;
        }
        Ok(&self.buf[self.at.min(self.buf.len())..])
    }

    fn consume(&mut self, amount: usize) {
        self.at = (self.at + amount).min(self.buf.len());
    }
}

/// A buffered reader that counts the bytes consumed from it.
pub struct Counted<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: BufRead> Counted<R> {
    /// Counts what is consumed from `inner` into `count`.
    pub fn new(inner: R, count: Arc<AtomicU64>) -> Self {
        Self { inner, count }
    }
}

impl<R: BufRead> Read for Counted<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(out)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counted<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.count.fetch_add(amount as u64, Ordering::Relaxed);
        self.inner.consume(amount);
    }
}
