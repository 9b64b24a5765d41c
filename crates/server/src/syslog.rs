//! Syslog listeners: UDP (one message per datagram) and TCP (octet-counting or newline framing,
//! detected per frame).
//!
//! Back-pressure differs by transport. TCP stops reading a connection while the pipeline is full, so
//! the sender slows down and nothing is lost; a connection is read on only once what it delivered is
//! journaled (durable). UDP has no way to push back or acknowledge: a datagram is journaled with its
//! batch, best effort until then (lost if the node dies in the milliseconds between receipt and the
//! journal's sync), and datagrams that arrive while the queue is full are dropped and counted in
//! `events_refused`, as every syslog daemon does.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use shield_event::Event;
use shield_event::parse::{ParseContext, SyslogFramer, parse_syslog};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{Semaphore, watch};

use crate::state::SharedState;

/// Messages handed to the pipeline at once.
const BATCH: usize = 512;
/// Concurrent TCP connections; more wait in the accept backlog.
const MAX_CONNECTIONS: usize = 1024;

fn context(input: &str, org: &str, peer: SocketAddr) -> ParseContext {
    ParseContext {
        input: Arc::from(input),
        org: Some(Arc::from(org)),
        path: Some(Arc::from(format!("{input} {peer}"))),
    }
}

/// Receives datagrams until `shutdown` turns true.
pub async fn run_udp(socket: UdpSocket, state: SharedState, mut shutdown: watch::Receiver<bool>) {
    let max = state.config.ingest.syslog_max_message_bytes;
    let org = state.config.server.organisation.clone();
    let mut buf = vec![0u8; max.max(2048)];
    let mut batch: Vec<Event> = Vec::with_capacity(BATCH);
    let (mut rejected, mut bytes) = (0u64, 0u64);
    loop {
        let received = tokio::select! {
            r = socket.recv_from(&mut buf) => r,
            _ = shutdown.changed() => break,
        };
        let mut next = Some(received);
        while let Some(r) = next.take() {
            match r {
                Ok((n, peer)) => {
                    bytes += n as u64;
                    let ctx = context("syslog-udp", &org, peer);
                    match parse_syslog(&buf[..n], &ctx, Utc::now()) {
                        Ok(e) => batch.push(e),
                        Err(e) => {
                            rejected += 1;
                            tracing::debug!("rejected syslog datagram: {e}");
                        }
                    }
                }
                Err(e) => tracing::warn!("syslog udp receive failed: {e}"),
            }
            if batch.len() < BATCH {
                next = match socket.try_recv_from(&mut buf) {
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => None,
                    other => Some(other),
                };
            }
        }
        let events = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
        let n = events.len();
        if n == 0 {
            state.stats.record("syslog-udp", 0, rejected, bytes);
        } else if let Some(room) = state.pipeline.try_reserve(n) {
            if let Err(e) = state
                .journal
                .append("syslog-udp", events, rejected, bytes, room)
                .await
            {
                state.stats.record("syslog-udp", 0, rejected, bytes);
                tracing::warn!("{n} syslog datagrams not journaled: {e}");
            }
        } else {
            state.stats.record("syslog-udp", 0, rejected, bytes);
            tracing::warn!("ingest queue full: dropped {n} syslog datagrams");
        }
        rejected = 0;
        bytes = 0;
    }
}

/// Accepts connections until `shutdown` turns true.
pub async fn run_tcp(
    listener: TcpListener,
    state: SharedState,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let permit = tokio::select! {
            p = Arc::clone(&slots).acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = shutdown.changed() => break,
        };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                let state = Arc::clone(&state);
                let shutdown = shutdown.clone();
                tokio::spawn(async move {
                    connection(stream, peer, state, shutdown).await;
                    drop(permit);
                });
            }
            Err(e) => {
                tracing::warn!("syslog tcp accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    state: SharedState,
    mut shutdown: watch::Receiver<bool>,
) {
    let max = state.config.ingest.syslog_max_message_bytes;
    let ctx = context("syslog-tcp", &state.config.server.organisation, peer);
    let mut framer = SyslogFramer::new(max);
    let mut buf = vec![0u8; 64 * 1024];
    let mut open = true;
    while open {
        let n = tokio::select! {
            r = stream.read(&mut buf) => match r {
                Ok(n) => n,
                Err(e) => { tracing::debug!("syslog tcp {peer}: {e}"); 0 }
            },
            _ = shutdown.changed() => 0,
        };
        let bytes = n as u64;
        let mut frames = Vec::new();
        if n == 0 {
            open = false;
            if let Some(last) = framer.finish() {
                frames.push(last);
            }
        } else {
            framer.push(&buf[..n]);
            while let Some(frame) = framer.next_frame() {
                frames.push(frame);
            }
        }
        let mut events = Vec::with_capacity(frames.len());
        let mut rejected = 0u64;
        let received = Utc::now();
        for frame in frames {
            match frame {
                Ok(msg) => match parse_syslog(&msg, &ctx, received) {
                    Ok(e) => events.push(e),
                    Err(e) => {
                        rejected += 1;
                        tracing::debug!("rejected syslog message: {e}");
                    }
                },
                Err(e) => {
                    rejected += 1;
                    tracing::debug!("syslog tcp {peer}: {e}");
                }
            }
        }
        submit_with_backpressure(&state, events, rejected, bytes).await;
    }
}

/// Retries until the pipeline has room for the events, then journals them: the connection is not
/// read meanwhile, so TCP flow control slows the sender down.
async fn submit_with_backpressure(
    state: &SharedState,
    events: Vec<Event>,
    rejected: u64,
    bytes: u64,
) {
    let n = events.len();
    if n == 0 {
        state.stats.record("syslog-tcp", 0, rejected, bytes);
        return;
    }
    loop {
        if let Some(room) = state.pipeline.try_reserve(n) {
            if let Err(e) = state
                .journal
                .append("syslog-tcp", events, rejected, bytes, room)
                .await
            {
                state.stats.record("syslog-tcp", 0, rejected, bytes);
                tracing::warn!("{n} syslog messages not journaled: {e}");
            }
            return;
        }
        if state.pipeline.is_closed() {
            tracing::warn!("node stopping: {n} syslog messages not accepted");
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
