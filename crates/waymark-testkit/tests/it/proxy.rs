//! The fault-injecting TCP proxy, one test per fault, in front of a loopback echo server that
//! counts the connections it gets.

use std::{
    io::ErrorKind,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};
use waymark_testkit::proxy::{Fault, FaultProxy};

/// An echo server; the number of connections it accepted.
async fn echo() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let count = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                while let Ok(n) = stream.read(&mut buf).await {
                    if n == 0 || stream.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    (addr, seen)
}

/// Writes `ping` and reads the echo (up to 1 s); the bytes, or the error kind.
async fn round_trip(stream: &mut TcpStream) -> Result<Vec<u8>, ErrorKind> {
    stream.write_all(b"ping").await.map_err(|e| e.kind())?;
    let mut buf = [0u8; 4];
    let read = tokio::time::timeout(Duration::from_secs(1), stream.read_exact(&mut buf)).await;
    match read {
        Err(_) => Err(ErrorKind::TimedOut),
        Ok(Err(e)) => Err(e.kind()),
        Ok(Ok(_)) => Ok(buf.to_vec()),
    }
}

#[tokio::test]
async fn forwards_both_ways_and_adds_latency_live() {
    let (target, seen) = echo().await;
    let proxy = FaultProxy::start(target).await.unwrap();
    let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
    assert_eq!(round_trip(&mut stream).await.unwrap(), b"ping");
    proxy.set_latency(Duration::from_millis(150));
    let started = Instant::now();
    assert_eq!(round_trip(&mut stream).await.unwrap(), b"ping");
    let slow = started.elapsed();
    eprintln!("proxy: 150 ms added each way, round trip {slow:?}");
    // Both directions are delayed: at least the two delays.
    assert!(slow >= Duration::from_millis(300), "{slow:?}");
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    assert_eq!(proxy.stats().bytes, 16);
}

#[tokio::test]
async fn reset_sends_rst_to_new_and_open_connections() {
    let (target, _) = echo().await;
    let proxy = FaultProxy::start(target).await.unwrap();
    let mut open = TcpStream::connect(proxy.addr()).await.unwrap();
    assert!(round_trip(&mut open).await.is_ok());
    proxy.set_fault(Fault::Reset);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(round_trip(&mut open).await, Err(ErrorKind::ConnectionReset));
    let mut new = TcpStream::connect(proxy.addr()).await.unwrap();
    let outcome = round_trip(&mut new).await;
    assert!(
        matches!(
            outcome,
            Err(ErrorKind::ConnectionReset | ErrorKind::BrokenPipe)
        ),
        "{outcome:?}"
    );
    proxy.set_fault(Fault::None);
    let mut again = TcpStream::connect(proxy.addr()).await.unwrap();
    assert_eq!(round_trip(&mut again).await.unwrap(), b"ping");
    let stats = proxy.stats();
    eprintln!(
        "proxy: reset: an open and a new connection got RST, then forwarding resumed: {stats:?}"
    );
    assert_eq!(stats.reset, 2);
}

#[tokio::test]
async fn drop_closes_new_connections_before_a_byte_passes() {
    let (target, seen) = echo().await;
    let proxy = FaultProxy::start(target).await.unwrap();
    let mut open = TcpStream::connect(proxy.addr()).await.unwrap();
    assert!(round_trip(&mut open).await.is_ok());
    proxy.set_fault(Fault::Drop);
    let mut new = TcpStream::connect(proxy.addr()).await.unwrap();
    let mut buf = [0u8; 4];
    let read = tokio::time::timeout(Duration::from_secs(1), new.read(&mut buf)).await;
    assert!(matches!(read, Ok(Ok(0))), "EOF at once: {read:?}");
    // The open connection goes on; the target never saw the dropped one.
    assert_eq!(round_trip(&mut open).await.unwrap(), b"ping");
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    assert_eq!(proxy.stats().dropped, 1);
}

#[tokio::test]
async fn half_open_reads_and_never_answers() {
    let (target, seen) = echo().await;
    let proxy = FaultProxy::start(target).await.unwrap();
    proxy.set_fault(Fault::HalfOpen);
    let mut new = TcpStream::connect(proxy.addr()).await.unwrap();
    assert_eq!(round_trip(&mut new).await, Err(ErrorKind::TimedOut));
    assert_eq!(seen.load(Ordering::SeqCst), 0, "nothing reached the target");
    assert_eq!(proxy.stats().swallowed, 1);
    // An open connection turned half-open stops answering too.
    proxy.set_fault(Fault::None);
    let mut open = TcpStream::connect(proxy.addr()).await.unwrap();
    assert!(round_trip(&mut open).await.is_ok());
    proxy.set_fault(Fault::HalfOpen);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(round_trip(&mut open).await, Err(ErrorKind::TimedOut));
    eprintln!(
        "proxy: half-open: a new and an open connection read, never answered: {:?}",
        proxy.stats()
    );
}

#[tokio::test]
async fn stop_refuses_and_closes_then_resume_listens_on_the_same_port() {
    let (target, _) = echo().await;
    let proxy = FaultProxy::start(target).await.unwrap();
    let mut open = TcpStream::connect(proxy.addr()).await.unwrap();
    assert!(round_trip(&mut open).await.is_ok());
    proxy.stop();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let refused = TcpStream::connect(proxy.addr()).await;
    assert_eq!(
        refused.map(|_| ()).map_err(|e| e.kind()),
        Err(ErrorKind::ConnectionRefused)
    );
    assert!(
        round_trip(&mut open).await.is_err(),
        "open connection closed"
    );
    proxy.resume().await.unwrap();
    let mut again = TcpStream::connect(proxy.addr()).await.unwrap();
    assert_eq!(round_trip(&mut again).await.unwrap(), b"ping");
}
