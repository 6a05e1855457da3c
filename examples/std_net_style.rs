//! portsock-std used as `std::net` is: connect with a `std::time::Duration`, `io::copy` stdin
//! into the stream, and the echo back to stdout. README.md shows this file from its first `use`
//! line on (tests/readme.rs keeps the two the same; tests/examples.rs runs it).
//!
//! ```sh
//! portsock echo server --addr 127.0.0.1:10000 &
//! echo hello | cargo run --example std_net_style -- 127.0.0.1:10000
//! ```

use std::io;
use std::thread;

use portsock::std::prelude::*;
use portsock::std::tcp::TcpStream;

fn main() -> io::Result<()> {
    let arg = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:10000".to_owned());
    let addr = arg
        .parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{arg}: {e}")))?;
    let mut stream = TcpStream::connect(addr, Some(Duration::from_secs(1)))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;

    let mut echo = stream.try_clone()?; // one thread reads the echo as it comes back...
    let reader = thread::spawn(move || io::copy(&mut echo, &mut io::stdout()));
    let sent = io::copy(&mut io::stdin(), &mut stream)?; // ...while this one sends stdin
    stream.shutdown(Shutdown::Write)?; // end of stream: the server closes after the echo
    let echoed = reader.join().expect("the reader thread")?;

    eprintln!("sent {sent} bytes, {echoed} came back");
    if echoed == sent {
        Ok(())
    } else {
        Err(io::Error::other("the echo was cut short"))
    }
}
