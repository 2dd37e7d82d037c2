//! The HTTP connections of the service, driven here rather than by `axum::serve` so that slow
//! or idle clients cannot hold it: a client must send its request headers within the header
//! timeout (also between requests on a kept-alive connection); at most `max` connections are
//! open, and a new one past the cap closes the oldest connection that is not inside a request
//! (a half-sent header, an idle keep-alive, a client that stopped reading its answer). So a
//! flood of slow clients costs the flood its oldest members, never the liveness probe, and
//! never the file descriptors SQLite and the bump processes need. (Bodies are read under
//! their own timeout by the routes.)

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;

/// How long connections may take, and how many may be open.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections open at once, at most.
    pub max_connections: usize,
    /// Time for a client to send a request's headers (and between requests).
    pub header_timeout: Duration,
    /// Time for a client to send a request's body.
    pub body_timeout: Duration,
}

/// Why the service closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// Its request headers did not arrive within the header timeout.
    HeaderTimeout,
    /// It was the oldest idle connection when a new one came at the cap, or when the process
    /// ran out of file descriptors.
    Evicted,
    /// It came at the cap while every open connection was inside a request.
    Refused,
}

impl Closed {
    /// The label in metrics.
    pub fn label(self) -> &'static str {
        match self {
            Closed::HeaderTimeout => "header_timeout",
            Closed::Evicted => "evicted",
            Closed::Refused => "refused",
        }
    }
}

/// The open connections, oldest first.
pub struct Connections {
    max: usize,
    table: Mutex<Table>,
}

#[derive(Default)]
struct Table {
    next: u64,
    open: BTreeMap<u64, Entry>,
    /// Entries told to close that have not closed yet.
    closing: usize,
}

impl Table {
    /// Connections open and not told to close.
    fn live(&self) -> usize {
        self.open.len() - self.closing
    }
}

struct Entry {
    /// Requests of the connection inside a handler now.
    busy: Arc<AtomicUsize>,
    /// Closes the connection.
    evict: Option<oneshot::Sender<()>>,
}

/// One admitted connection; it leaves the table when dropped.
pub struct Slot {
    connections: Arc<Connections>,
    id: u64,
    busy: Arc<AtomicUsize>,
    evicted: oneshot::Receiver<()>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut table = self.connections.table();
        if let Some(entry) = table.open.remove(&self.id)
            && entry.evict.is_none()
        {
            table.closing -= 1;
        }
    }
}

impl Connections {
    /// A table for at most `max` connections (at least one).
    pub fn new(max: usize) -> Connections {
        Connections {
            max: max.max(1),
            table: Mutex::new(Table::default()),
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Connections open now, not counting those told to close.
    pub fn open(&self) -> usize {
        self.table().live()
    }

    /// Makes room for one more connection: at the cap, the oldest idle one is closed. `None`
    /// (the new connection is refused) when every open connection is inside a request; else
    /// the slot, and whether a connection was evicted for it.
    pub fn admit(self: &Arc<Self>) -> Option<(Slot, bool)> {
        let mut table = self.table();
        let mut evicted = false;
        if table.live() >= self.max {
            if !evict_oldest_idle(&mut table) {
                return None;
            }
            evicted = true;
        }
        let id = table.next;
        table.next += 1;
        let busy = Arc::new(AtomicUsize::new(0));
        let (evict, receiver) = oneshot::channel();
        table.open.insert(
            id,
            Entry {
                busy: busy.clone(),
                evict: Some(evict),
            },
        );
        drop(table);
        Some((
            Slot {
                connections: self.clone(),
                id,
                busy,
                evicted: receiver,
            },
            evicted,
        ))
    }

    /// Closes the oldest idle connection, to free its file descriptor; whether there was one.
    pub fn evict_one(&self) -> bool {
        evict_oldest_idle(&mut self.table())
    }
}

/// Signals the oldest connection not inside a request to close; whether there was one.
fn evict_oldest_idle(table: &mut Table) -> bool {
    let oldest = table
        .open
        .iter_mut()
        .find(|(_, entry)| entry.evict.is_some() && entry.busy.load(Ordering::Acquire) == 0);
    match oldest {
        Some((_, entry)) => {
            if let Some(evict) = entry.evict.take() {
                let _ = evict.send(());
            }
            table.closing += 1;
            true
        }
        None => false,
    }
}

/// Counts a request as inside a handler while it lives.
struct Busy(Arc<AtomicUsize>);

impl Busy {
    fn enter(counter: &Arc<AtomicUsize>) -> Busy {
        counter.fetch_add(1, Ordering::AcqRel);
        Busy(counter.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Listens on `address` with a backlog deep enough for a burst of clients.
pub fn listen(address: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let socket = match address {
        std::net::SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        std::net::SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(4096)
}

/// What the accept loop reports to the metrics.
pub trait Observer: Send + Sync + 'static {
    /// A connection was closed by the service, for `why`.
    fn closed(&self, why: Closed);
}

/// Serves `router` on `listener` until `stop` turns true, then lets the open connections
/// finish their requests for at most `drain`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    connections: Arc<Connections>,
    limits: Limits,
    observer: Arc<dyn Observer>,
    mut stop: watch::Receiver<bool>,
    drain: Duration,
) {
    let (closing, closing_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    loop {
        while tasks.try_join_next().is_some() {}
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|stop| *stop) => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Out of file descriptors: free one from the oldest idle connection. Other
                // errors (a client gone before the accept) pass.
                let exhausted = matches!(error.raw_os_error(), Some(23 | 24));
                if exhausted && connections.evict_one() {
                    observer.closed(Closed::Evicted);
                    tokio::task::yield_now().await;
                } else {
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                continue;
            }
        };
        // Admitted here, in the order the connections were accepted, so that "oldest" means
        // accepted first: the tasks below run in no particular order.
        let Some((slot, evicted)) = connections.admit() else {
            observer.closed(Closed::Refused);
            continue;
        };
        if evicted {
            observer.closed(Closed::Evicted);
        }
        let router = router.clone();
        let observer = observer.clone();
        let closing = closing_rx.clone();
        tasks.spawn(async move {
            if let Some(why) = connection(stream, router, slot, limits, closing).await {
                observer.closed(why);
            }
        });
    }
    drop(listener);
    let _ = closing.send(true);
    let drained =
        tokio::time::timeout(drain, async { while tasks.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.open(),
            "connections still open after the drain period were closed"
        );
        tasks.shutdown().await;
    }
}

/// Serves one connection until it ends; why the service closed it, if it did (an eviction is
/// counted where it was decided, so it is not given here).
async fn connection(
    stream: TcpStream,
    router: Router,
    mut slot: Slot,
    limits: Limits,
    mut closing: watch::Receiver<bool>,
) -> Option<Closed> {
    let _ = stream.set_nodelay(true);
    let inner = TowerToHyperService::new(router);
    let busy = slot.busy.clone();
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let inside = Busy::enter(&busy);
        let answer = hyper::service::Service::call(&inner, request);
        async move {
            let answer = answer.await;
            drop(inside);
            answer
        }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let mut graceful = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                return match result {
                    Err(error) if error.is_timeout() => Some(Closed::HeaderTimeout),
                    // A client that went away or sent garbage (hyper answered it): its own doing.
                    _ => None,
                };
            }
            // Counted where it was decided (`admit`, `evict_one`), not again here.
            _ = &mut slot.evicted => return None,
            _ = closing.wait_for(|closing| *closing), if !graceful => {
                graceful = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// The soft limit of open files of this process (`ulimit -n`), where the system says it.
pub fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::{Busy, Connections};
    use std::sync::Arc;
    use std::time::Duration;
    use tokio::sync::watch;

    #[test]
    fn at_the_cap_the_oldest_idle_connection_makes_room() {
        let connections = Arc::new(Connections::new(3));
        let (mut first, _) = connections.admit().unwrap();
        let (second, _) = connections.admit().unwrap();
        let (mut third, _) = connections.admit().unwrap();
        // The first is inside a request: the second is the oldest idle one.
        let inside = Busy::enter(&first.busy);
        let (_fourth, evicted) = connections.admit().unwrap();
        assert!(evicted);
        let mut second = second;
        assert!(
            second.evicted.try_recv().is_ok(),
            "the second was told to close"
        );
        assert!(first.evicted.try_recv().is_err());
        assert!(third.evicted.try_recv().is_err());
        assert_eq!(connections.open(), 3, "the second no longer counts");
        drop(second);
        assert_eq!(connections.open(), 3);
        drop(inside);
        drop(third);
        drop(first);
        assert_eq!(connections.open(), 1);
    }

    #[test]
    fn at_the_cap_with_every_connection_busy_a_new_one_is_refused() {
        let connections = Arc::new(Connections::new(1));
        let (only, _) = connections.admit().unwrap();
        let _inside = Busy::enter(&only.busy);
        assert!(connections.admit().is_none());
        assert!(!connections.evict_one());
    }

    /// Counts the evictions the service reports.
    #[derive(Default)]
    struct Evictions(std::sync::atomic::AtomicUsize);

    impl super::Observer for Evictions {
        fn closed(&self, why: super::Closed) {
            if why == super::Closed::Evicted {
                self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }

    /// Whether the server closed `stream` (read without waiting).
    fn closed_by_server(stream: &mut std::net::TcpStream) -> bool {
        use std::io::Read;
        stream.set_nonblocking(true).unwrap();
        let closed = match stream.read(&mut [0; 16]) {
            Ok(_) => true,
            Err(error) => error.kind() != std::io::ErrorKind::WouldBlock,
        };
        stream.set_nonblocking(false).unwrap();
        closed
    }

    #[test]
    fn connections_accepted_in_one_burst_are_evicted_oldest_first() {
        use std::io::Write;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(async { tokio::net::TcpListener::bind("127.0.0.1:0").await })
            .unwrap();
        let address = listener.local_addr().unwrap();
        // All twenty wait in the kernel's queue before the service accepts any, so it takes
        // them in one burst, whose tasks the runtime runs in no set order.
        let mut clients: Vec<std::net::TcpStream> = (0..20)
            .map(|_| {
                let mut client = std::net::TcpStream::connect(address).unwrap();
                client.write_all(b"GET / HTTP/1.1\r\nHost: x").unwrap();
                client
            })
            .collect();
        let (stop, stopped) = watch::channel(false);
        let limits = super::Limits {
            max_connections: 5,
            header_timeout: Duration::from_secs(600),
            body_timeout: Duration::from_secs(600),
        };
        let evictions = Arc::new(Evictions::default());
        let served = runtime.spawn(super::serve(
            listener,
            axum::Router::new(),
            Arc::new(Connections::new(limits.max_connections)),
            limits,
            evictions.clone(),
            stopped,
            Duration::from_millis(10),
        ));
        let started = std::time::Instant::now();
        let mut closed = Vec::new();
        while closed.len() < 15 && started.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(20));
            closed = (0..clients.len())
                .filter(|&at| closed.contains(&at) || closed_by_server(&mut clients[at]))
                .collect();
        }
        let _ = stop.send(true);
        runtime.block_on(served).unwrap();
        assert_eq!(
            closed,
            (0..15).collect::<Vec<_>>(),
            "the first fifteen closed"
        );
        // Each once: the eviction, and the evicted connection's task ending, counted it twice.
        let counted = evictions.0.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(counted, 15, "evictions counted");
    }

    #[test]
    fn the_file_limit_is_read_on_linux() {
        if std::path::Path::new("/proc/self/limits").exists() {
            assert!(super::open_file_limit().is_some_and(|limit| limit > 0));
        }
    }
}
