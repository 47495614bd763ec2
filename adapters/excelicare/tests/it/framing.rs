//! MLLP framing faults on a live connection: a frame cut by a new start block, a frame that
//! stalls, garbage alone. None panics or hangs; the cut frame is never answered (so the sender
//! resends) and the whole one after it is.

use std::time::Duration;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use waymark_adapter_excelicare::{AckCode, Script, frame, read_ack};

use crate::common::{Harness, test_config};

async fn read_frame(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    while !out.ends_with(&[0x1c, 0x0d]) {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "connection closed before an answer");
        out.extend_from_slice(&buf[..n]);
    }
    out
}

#[tokio::test]
async fn a_frame_cut_by_a_new_start_block_is_dropped_and_the_next_answered() {
    let harness = Harness::start().await;
    let message = Script::synthetic(9, 3).items()[0].bytes.clone();
    let mut stream = TcpStream::connect(harness.addr).await.unwrap();
    stream.write_all(&[0x0b]).await.unwrap();
    stream
        .write_all(&message[..message.len() / 2])
        .await
        .unwrap();
    stream.write_all(&frame(&message)).await.unwrap();
    let answer = read_frame(&mut stream).await;
    let ack = read_ack(&answer[1..answer.len() - 2]).unwrap();
    assert_eq!(ack.code, AckCode::Accept);
    let metrics = harness.adapter().metrics();
    assert_eq!(
        (metrics.truncated, metrics.published, metrics.acks_aa),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn a_stalled_frame_times_out_unanswered_and_garbage_is_ignored() {
    let mut config = test_config();
    config.read_timeout_ms = 100;
    let harness = Harness::start_with(config).await;
    let mut stream = TcpStream::connect(harness.addr).await.unwrap();
    stream
        .write_all(b"GARBAGE\r\n\x0bMSH|^~\\&|EXCELICARE|S")
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await;
    assert_eq!(read.unwrap().unwrap(), 0, "closed without an answer");
    let metrics = harness.adapter().metrics();
    assert_eq!((metrics.truncated, metrics.garbage_bytes), (1, 7));
    assert_eq!((metrics.received, metrics.published), (0, 0));
    assert!(harness.bus.drain().await.is_empty());
}
