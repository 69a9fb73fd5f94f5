//! Test packets for packet programs run with `BPF_PROG_RUN` (the `net` fixture), and the
//! verdicts the fixture must give for them: shared by the reference check (bpftool) and
//! bpfkit's own loader tests.

/// One `BPF_PROG_RUN` of a packet program and the value it must return.
#[derive(Debug, Clone, Copy)]
pub struct PacketRun {
    /// The program's name.
    pub program: &'static str,
    /// The input frame.
    pub frame: Frame,
    /// What the program returns for it.
    pub retval: u32,
}

/// A test packet: an Ethernet frame from 02:00:00:00:00:01 to 00:00:00:00:00:00.
#[derive(Clone, Copy, Debug)]
pub enum Frame {
    /// IPv4 10.0.0.1 -> 10.0.0.2, UDP from port 1234 to `dport` with `payload` zero bytes.
    Udp {
        /// Destination port.
        dport: u16,
        /// Payload bytes (zeros).
        payload: u16,
    },
    /// IPv4 carrying TCP (protocol 6) with a 20-byte zero header to port `dport`.
    Tcp {
        /// Destination port.
        dport: u16,
    },
    /// An ARP frame (ethertype 0x0806, 28 zero bytes).
    Arp,
    /// A UDP frame to `dport` cut after the IPv4 header (no UDP header).
    NoUdpHeader {
        /// Destination port it would have had.
        dport: u16,
    },
}

impl Frame {
    /// The frame's bytes.
    pub fn bytes(self) -> Vec<u8> {
        let ipv4 = |protocol: u8, l4: &[u8]| {
            let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, protocol, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
            ip[2..4].copy_from_slice(&(20 + l4.len() as u16).to_be_bytes());
            let sum = ip.chunks(2).map(|w| u32::from(u16::from_be_bytes([w[0], w[1]]))).sum::<u32>();
            let sum = (sum & 0xffff) + (sum >> 16);
            let sum = (sum & 0xffff) + (sum >> 16);
            ip[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
            ip.extend_from_slice(l4);
            ip
        };
        let udp = |dport: u16, payload: u16| {
            let mut udp = Vec::new();
            for field in [1234, dport, 8 + payload, 0] {
                udp.extend_from_slice(&u16::to_be_bytes(field));
            }
            udp.resize(8 + usize::from(payload), 0);
            udp
        };
        let (ethertype, body) = match self {
            Frame::Udp { dport, payload } => (0x0800u16, ipv4(17, &udp(dport, payload))),
            Frame::Tcp { dport } => {
                let mut tcp = vec![0; 20];
                tcp[2..4].copy_from_slice(&dport.to_be_bytes());
                (0x0800, ipv4(6, &tcp))
            }
            Frame::Arp => (0x0806, vec![0; 28]),
            Frame::NoUdpHeader { dport } => (0x0800, ipv4(17, &udp(dport, 0))[..20].to_vec()),
        };
        let mut frame = vec![0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1];
        frame.extend_from_slice(&ethertype.to_be_bytes());
        frame.extend_from_slice(&body);
        frame
    }
}

/// `bpf/net.bpf.c` with its default `.rodata` (`drop_port` = 7777). XDP verdicts: 0 XDP_ABORTED,
/// 1 XDP_DROP, 2 XDP_PASS; the socket filter returns the UDP payload length, 0 for other packets.
pub const NET_RUNS: &[PacketRun] = &[
    PacketRun { program: "xdp_udp_drop", frame: Frame::Udp { dport: 7777, payload: 32 }, retval: 1 },
    PacketRun { program: "xdp_udp_drop", frame: Frame::Udp { dport: 53, payload: 32 }, retval: 2 },
    PacketRun { program: "xdp_udp_drop", frame: Frame::Tcp { dport: 7777 }, retval: 2 },
    PacketRun { program: "xdp_udp_drop", frame: Frame::Arp, retval: 2 },
    PacketRun { program: "xdp_udp_drop", frame: Frame::NoUdpHeader { dport: 7777 }, retval: 0 },
    PacketRun { program: "socket_udp_len", frame: Frame::Udp { dport: 7777, payload: 32 }, retval: 32 },
    PacketRun { program: "socket_udp_len", frame: Frame::Udp { dport: 53, payload: 5 }, retval: 5 },
    PacketRun { program: "socket_udp_len", frame: Frame::Tcp { dport: 7777 }, retval: 0 },
    PacketRun { program: "socket_udp_len", frame: Frame::Arp, retval: 0 },
];
