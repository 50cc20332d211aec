"""What the callers hear, and when: a packet watch on loopback for bench/capacity.py.

    python bench/rtpwatch.py --fingerprints FILE --caller 127.0.0.2 --sip-port P
                             --rtp FIRST-LAST --out EVENTS

Runs as its own process (root: a packet socket on `lo`), so its CPU is not counted as
Asterisk's or the controller's, and writes one line per event, with the kernel's receive time
of the packet (SO_TIMESTAMPNS, not when this process got round to it):

    answer <t> <asterisk rtp port> <call-id>   Asterisk's 200 OK to a caller's INVITE
    prompt <t> <asterisk rtp port> <prompt>    the first packet of a prompt, sent to a caller
    key <t> <asterisk rtp port> <digit>        a caller's RFC 2833 key, its first end packet
    drops <n> of <packets>                     at exit: packets the kernel could not queue

A prompt is recognised by its first 20 ms: Asterisk reads a wav file in 160-sample frames
and sends each as one G.711 u-law packet, so a prompt's first packet is the u-law of its
first 160 samples. Asterisk's encoder rounds a few samples a code apart from Python's (seen
on the sandbox: 4 of 160), so a packet is looked up by its first 4 bytes, each taken within a
code (or the other sign, near zero), and then must agree within a code on all but
`MISMATCHES_ALLOWED` of its 160 samples. So the latencies do
not depend on silence detection, and `transmit_silence` (the sandbox sends silence between
prompts) does not matter. SIPp callers share one media port, so calls are told apart by
Asterisk's port, which is one per call at a time.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import signal
import socket
import struct
import sys
from pathlib import Path
from types import FrameType
from typing import TextIO

ETH_P_IP = 0x0800
SO_ATTACH_FILTER = 26
SO_TIMESTAMPNS = 35
SO_RCVBUFFORCE = 33
SOL_PACKET, PACKET_STATISTICS = 263, 6
SKF_AD_PKTTYPE = 0xFFFFF000 + 4
PACKET_OUTGOING = 4
PCMU, EVENT = 0, 101
RTP_HEADER = 12
PREFIX = 4  # bytes of a prompt's first packet that index it
MISMATCHES_ALLOWED = 16  # of 160 samples, each more than one u-law code away


def _near(code: int) -> set[int]:
    return {(code + d) & 0xFF for d in (-1, 0, 1)} | {code ^ 0x80}


def index_fingerprints(prints: dict[str, bytes]) -> dict[bytes, list[tuple[str, bytes]]]:
    """Every prefix a prompt's first packet may start with -> (prompt, its first packet)."""
    index: dict[bytes, list[tuple[str, bytes]]] = {}
    for name, frame in prints.items():
        prefixes = [b""]
        for code in frame[:PREFIX]:
            prefixes = [p + bytes([c]) for p in prefixes for c in _near(code)]
        for prefix in prefixes:
            index.setdefault(prefix, []).append((name, frame))
    return index


def matching_prompt(index: dict[bytes, list[tuple[str, bytes]]], audio: bytes) -> str | None:
    """The prompt whose first packet `audio` is; prompts that begin alike (the policy menu and
    its texts start with the same words) come as one name, `a|b`."""
    names = sorted(
        name
        for name, frame in index.get(audio[:PREFIX], ())
        if len(audio) == len(frame)
        and sum(1 for a, b in zip(audio, frame, strict=True) if abs(a - b) > 1 and a ^ 0x80 != b)
        <= MISMATCHES_ALLOWED
    )
    return "|".join(names) or None


def _bpf(caller: int) -> bytes:
    """Kernel-side filter: UDP to or from the callers' address, each packet once (loopback
    shows it outgoing and incoming: keep the incoming copy)."""
    ld_w, ld_b, jeq, ret = 0x20, 0x30, 0x15, 0x06
    program = [
        (ld_w, 0, 0, SKF_AD_PKTTYPE),
        (jeq, 7, 0, PACKET_OUTGOING),  # -> drop
        (ld_b, 0, 0, 9),  # IP protocol
        (jeq, 0, 5, 17),  # UDP, else drop
        (ld_w, 0, 0, 12),  # source address
        (jeq, 2, 0, caller),  # -> accept
        (ld_w, 0, 0, 16),  # destination address
        (jeq, 0, 1, caller),  # -> accept, else drop
        (ret, 0, 0, 0xFFFF),
        (ret, 0, 0, 0),
    ]
    return b"".join(struct.pack("HBBI", *insn) for insn in program)


def watch(args: argparse.Namespace) -> None:
    fingerprints = index_fingerprints(
        {
            name: bytes.fromhex(hexed)
            for name, hexed in json.loads(Path(args.fingerprints).read_text()).items()
        }
    )
    first, last = (int(p) for p in args.rtp.split("-"))
    caller = socket.inet_aton(args.caller)
    caller_int = struct.unpack("!I", caller)[0]
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP))
    program = _bpf(caller_int)
    code = ctypes.create_string_buffer(program)  # stays put while the filter is attached
    buffer = struct.pack("HL", len(program) // 8, ctypes.addressof(code))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, buffer)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    # a large buffer, past net.core.rmem_max (root may): under load this process falls
    # behind, and a dropped 200 OK loses the call's every figure (counted: `drops` at exit)
    sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 64 << 20)
    sock.bind(("lo", 0))
    with Path(args.out).open("w", encoding="ascii", buffering=1) as out:  # read while it runs
        _loop(sock, out, fingerprints, (first, last), caller, args.sip_port)


def _loop(
    sock: socket.socket,
    out: TextIO,
    fingerprints: dict[bytes, list[tuple[str, bytes]]],
    ports: tuple[int, int],
    caller: bytes,
    sip_port: int,
) -> None:
    first, last = ports
    keys_seen: set[tuple[int, int]] = set()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        # the kernel's count since the last read: packets queued, and dropped for want of room
        packets, drops = struct.unpack("II", sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
        out.write(f"drops {drops} of {packets + drops}\n")
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        data, ancillary, _flags, _addr = sock.recvmsg(2048, 64)
        when = 0.0
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                seconds, nanos = struct.unpack("qq", value[:16])
                when = seconds + nanos / 1e9
        ihl = (data[0] & 0x0F) * 4
        sport, dport = struct.unpack_from("!HH", data, ihl)
        payload = data[ihl + 8 :]
        if data[16:20] == caller:  # to a caller
            if first <= sport <= last:
                if (
                    len(payload) > RTP_HEADER
                    and payload[1] & 0x7F == PCMU
                    and (name := matching_prompt(fingerprints, payload[RTP_HEADER:]))
                ):
                    out.write(f"prompt {when:.6f} {sport} {name}\n")
            elif sport == sip_port and payload.startswith(b"SIP/2.0 200"):
                _answer(out, when, payload)
        elif (
            first <= dport <= last
            and len(payload) >= 16
            and payload[1] & 0x7F == EVENT
            and payload[RTP_HEADER + 1] & 0x80  # the end of the key (sent 3 times)
        ):
            stamp = struct.unpack_from("!I", payload, 4)[0]
            if (dport, stamp) not in keys_seen:
                keys_seen.add((dport, stamp))
                digit = "0123456789*#"[payload[RTP_HEADER]]
                out.write(f"key {when:.6f} {dport} {digit}\n")


def _answer(out: TextIO, when: float, payload: bytes) -> None:
    text = payload.decode("latin-1")
    head, _, body = text.partition("\r\n\r\n")
    if "\r\nCSeq: 1 INVITE" not in head and "\r\nCSeq:1 INVITE" not in head:
        return
    call_id = next(
        (
            line.split(":", 1)[1].strip()
            for line in head.split("\r\n")
            if line.startswith("Call-ID:")
        ),
        "",
    )
    port = next((line.split()[1] for line in body.split("\r\n") if line.startswith("m=audio")), "")
    if call_id and port:
        out.write(f"answer {when:.6f} {port} {call_id}\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fingerprints", required=True, help="JSON: prompt -> u-law hex")
    parser.add_argument("--caller", required=True, help="the SIPp callers' address")
    parser.add_argument("--sip-port", type=int, required=True, help="Asterisk's SIP port")
    parser.add_argument("--rtp", required=True, help="Asterisk's RTP ports, FIRST-LAST")
    parser.add_argument("--out", required=True, help="where the events go")
    watch(parser.parse_args())
    return 0


if __name__ == "__main__":
    sys.exit(main())
