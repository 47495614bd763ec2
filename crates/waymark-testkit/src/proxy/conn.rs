//! One proxied connection, and the accept loop that starts them: the fault in force when a
//! connection arrives decides its fate, and each open connection watches for later changes.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::watch,
};

use super::{Counters, Fault, State};

/// Accepts until aborted (the proxy's `stop`, or its drop).
pub(super) async fn accept_loop(
    listener: TcpListener,
    target: SocketAddr,
    state: watch::Receiver<State>,
    counters: Arc<Counters>,
) {
    loop {
        let client = match listener.accept().await {
            Ok((client, _)) => client,
            Err(_) => {
                // Out of descriptors or similar: wait rather than spin.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        Counters::bump(&counters.accepted, 1);
        let fault = state.borrow().fault;
        match fault {
            Fault::Reset => {
                reset(client);
                Counters::bump(&counters.reset, 1);
            }
            Fault::Drop => {
                drop(client);
                Counters::bump(&counters.dropped, 1);
            }
            Fault::None | Fault::HalfOpen => {
                tokio::spawn(serve(client, target, state.clone(), counters.clone()));
            }
        }
    }
}

/// Closes `stream` with a TCP RST rather than a FIN.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// Forwards one connection until either side closes it or a fault ends it.
async fn serve(
    mut client: TcpStream,
    target: SocketAddr,
    mut state: watch::Receiver<State>,
    counters: Arc<Counters>,
) {
    let mut upstream = None;
    if state.borrow().fault != Fault::HalfOpen {
        match TcpStream::connect(target).await {
            Ok(stream) => {
                Counters::bump(&counters.forwarded, 1);
                upstream = Some(stream);
            }
            Err(_) => return reset(client),
        }
    }
    let mut swallowing = upstream.is_none();
    if swallowing {
        Counters::bump(&counters.swallowed, 1);
    }
    let (mut up_buf, mut down_buf) = (vec![0u8; 16 * 1024], vec![0u8; 16 * 1024]);
    loop {
        let now = *state.borrow_and_update();
        if !now.running {
            return;
        }
        if now.fault == Fault::Reset {
            Counters::bump(&counters.reset, 1);
            if let Some(up) = upstream {
                reset(up);
            }
            return reset(client);
        }
        if now.fault == Fault::HalfOpen && !swallowing {
            swallowing = true;
            Counters::bump(&counters.swallowed, 1);
        }
        let forwarding = !swallowing && upstream.is_some();
        tokio::select! {
            changed = state.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            read = client.read(&mut up_buf) => {
                let n = match read {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                if let (false, Some(up)) = (swallowing, upstream.as_mut()) {
                    delay(now.latency).await;
                    if up.write_all(&up_buf[..n]).await.is_err() {
                        return;
                    }
                    Counters::bump(&counters.bytes, n as u64);
                }
            }
            read = read_some(upstream.as_mut(), &mut down_buf), if forwarding => {
                let n = match read {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                delay(now.latency).await;
                if client.write_all(&down_buf[..n]).await.is_err() {
                    return;
                }
                Counters::bump(&counters.bytes, n as u64);
            }
        }
    }
}

async fn read_some(stream: Option<&mut TcpStream>, buf: &mut [u8]) -> std::io::Result<usize> {
    match stream {
        Some(stream) => stream.read(buf).await,
        None => std::future::pending().await,
    }
}

async fn delay(latency: Duration) {
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
}
