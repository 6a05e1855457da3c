//! Embassy-net stacks in one process, joined by an in-memory Ethernet hub
//! (embassy-net-driver-channel), run under futures-lite's `block_on` with embassy-time's std
//! driver. No privileges, no kernel network.
#![allow(dead_code, unreachable_pub)]

use core::future::{Future, poll_fn};
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use core::pin::Pin;
use core::task::Poll;
use std::cell::RefCell;

use embassy_net::{
    Config, ConfigV6, Ipv4Cidr, Ipv6Cidr, Stack, StackResources, StaticConfigV4, StaticConfigV6,
};
use embassy_net_driver_channel as channel;
use embassy_net_driver_channel::driver::{HardwareAddress, LinkState};
use portsock_core::asynch::select::{Either, first};

/// An Ethernet frame's largest size.
const MTU: usize = 1514;
/// Frames queued each way per device.
const FRAMES: usize = 16;
/// Socket entries per stack (listener pools, connectors, UDP sockets of one test).
const SOCKETS: usize = 24;

type Background = Pin<Box<dyn Future<Output = ()>>>;

thread_local! {
    /// What runs beside the test's future: the stacks' runners and the hub.
    static BACKGROUND: RefCell<Vec<Background>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` beside the stacks' runners and the hub (started by [`network`]) until it is done.
pub fn block_on<F: Future>(f: F) -> F::Output {
    let background = poll_fn(|cx| {
        let mut running = BACKGROUND.with(|b| std::mem::take(&mut *b.borrow_mut()));
        for task in &mut running {
            // Runners and the hub never finish.
            let _ = task.as_mut().poll(cx);
        }
        BACKGROUND.with(|b| {
            let mut b = b.borrow_mut();
            running.append(&mut b);
            *b = running;
        });
        Poll::<()>::Pending
    });
    let out = futures_lite::future::block_on(async {
        match first(f, background).await {
            Either::First(out) => out,
            Either::Second(()) => unreachable!("the background never finishes"),
        }
    });
    BACKGROUND.with(|b| b.borrow_mut().clear());
    out
}

fn spawn(task: impl Future<Output = ()> + 'static) {
    BACKGROUND.with(|b| b.borrow_mut().push(Box::pin(task)));
}

/// The DNS server every stack is configured with: stack 1's address (tests/dns.rs runs one
/// there).
pub const DNS_SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// The IPv4 address of stack `i` (from 0): 10.0.0.(i+1)/24.
pub fn v4(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, i as u8 + 1))
}

/// The IPv6 address of stack `i`: fd00::(i+1)/64.
pub fn v6(i: usize) -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, i as u16 + 1))
}

/// `k` stacks on one Ethernet hub (every frame reaches every other stack, as on a shared
/// segment), with static addresses [`v4`] and [`v6`] and [`DNS_SERVER`]; their runners and the hub run in
/// [`block_on`]'s background. Call it inside `block_on`.
pub fn network(k: usize) -> Vec<Stack<'static>> {
    let mut stacks = Vec::new();
    let mut ports = Vec::new();
    for i in 0..k {
        let state = Box::leak(Box::new(channel::State::<MTU, FRAMES, FRAMES>::new()));
        let mac = HardwareAddress::Ethernet([0x02, 0, 0, 0, 0, i as u8 + 1]);
        let (mut port, device) = channel::new(state, mac);
        port.set_link_state(LinkState::Up);
        let IpAddr::V4(a4) = v4(i) else {
            unreachable!()
        };
        let IpAddr::V6(a6) = v6(i) else {
            unreachable!()
        };
        let mut dns_servers = heapless::Vec::new();
        dns_servers.push(DNS_SERVER).expect("room for one server");
        let mut config = Config::ipv4_static(StaticConfigV4 {
            address: Ipv4Cidr::new(a4, 24),
            gateway: None,
            dns_servers,
        });
        config.ipv6 = ConfigV6::Static(StaticConfigV6 {
            address: Ipv6Cidr::new(a6, 64),
            gateway: None,
            dns_servers: Default::default(),
        });
        let resources = Box::leak(Box::new(StackResources::<SOCKETS>::new()));
        let (stack, mut runner) = embassy_net::new(device, config, resources, 0x5eed + i as u64);
        spawn(async move {
            runner.run().await;
        });
        stacks.push(stack);
        ports.push(port);
    }
    spawn(hub(ports));
    stacks
}

/// Copies every frame a device sends to every other device, taking it only once all of them
/// have room (so the hub itself drops nothing).
async fn hub(mut ports: Vec<channel::Runner<'static, MTU>>) {
    let mut frame = Vec::with_capacity(MTU);
    poll_fn(|cx| {
        loop {
            let mut moved = false;
            for i in 0..ports.len() {
                let room = (0..ports.len())
                    .filter(|&j| j != i)
                    .all(|j| ports[j].poll_rx_buf(cx).is_ready());
                if !room {
                    continue;
                }
                let Poll::Ready(sent) = ports[i].poll_tx_buf(cx) else {
                    continue;
                };
                frame.clear();
                frame.extend_from_slice(sent);
                ports[i].tx_done();
                for (j, port) in ports.iter_mut().enumerate() {
                    if j != i {
                        let buf = port.try_rx_buf().expect("room checked above");
                        buf[..frame.len()].copy_from_slice(&frame);
                        port.rx_done(frame.len());
                    }
                }
                moved = true;
            }
            if !moved {
                return Poll::<()>::Pending;
            }
        }
    })
    .await;
}

/// Socket address helper.
pub fn at(ip: IpAddr, port: u16) -> SocketAddr {
    SocketAddr::new(ip, port)
}

/// Leaks `value`: the tests' resources live as long as the stacks (which are leaked too).
pub fn leak<T>(value: T) -> &'static mut T {
    Box::leak(Box::new(value))
}

/// Runs `futs` together as separate tasks would run on an executor: each has its own waker
/// and is polled only when that waker was woken (a future that registered its waker
/// somewhere and was never woken is never polled again, as on embassy's executor).
pub async fn join_tasks<F: Future>(futs: Vec<F>) -> Vec<F::Output> {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Wake, Waker};

    struct Task {
        woken: AtomicBool,
        parent: Mutex<Option<Waker>>,
    }
    impl Wake for Task {
        fn wake(self: Arc<Self>) {
            self.woken.store(true, Ordering::SeqCst);
            if let Some(parent) = self.parent.lock().expect("not poisoned").as_ref() {
                parent.wake_by_ref();
            }
        }
    }

    let mut futs: Vec<_> = futs.into_iter().map(Box::pin).collect();
    let tasks: Vec<Arc<Task>> = futs
        .iter()
        .map(|_| {
            Arc::new(Task {
                woken: AtomicBool::new(true),
                parent: Mutex::new(None),
            })
        })
        .collect();
    let wakers: Vec<Waker> = tasks.iter().map(|t| Waker::from(t.clone())).collect();
    let mut outs: Vec<Option<F::Output>> = futs.iter().map(|_| None).collect();
    poll_fn(|cx| {
        for i in 0..futs.len() {
            *tasks[i].parent.lock().expect("not poisoned") = Some(cx.waker().clone());
            if outs[i].is_none() && tasks[i].woken.swap(false, Ordering::SeqCst) {
                let mut own = Context::from_waker(&wakers[i]);
                if let Poll::Ready(out) = futs[i].as_mut().poll(&mut own) {
                    outs[i] = Some(out);
                }
            }
        }
        if outs.iter().all(Option::is_some) {
            Poll::Ready(outs.iter_mut().map(|o| o.take().expect("done")).collect())
        } else {
            Poll::Pending
        }
    })
    .await
}
