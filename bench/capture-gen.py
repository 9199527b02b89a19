#!/usr/bin/python3
# Netlink traffic as fast as one process can make it: N RTM_GETLINK dumps over a raw NETLINK_ROUTE
# socket, each read to its NLMSG_DONE. Prints one JSON line: dumps, reply messages, seconds.
import json
import socket
import struct
import sys
import time

NLMSG_DONE = 3
NLMSG_ERROR = 2
RTM_GETLINK = 18
NLM_F_REQUEST = 1
NLM_F_DUMP = 0x300

dumps = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
sock.bind((0, 0))
messages = 0
start = time.monotonic()
for seq in range(1, dumps + 1):
    # nlmsghdr + struct ifinfomsg (16 bytes), all zero: dump every link
    request = struct.pack("=LHHLL", 16 + 16, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + bytes(16)
    sock.send(request)
    done = False
    while not done:
        data = sock.recv(1 << 16)
        offset = 0
        while offset + 16 <= len(data):
            length, kind, flags, rseq, pid = struct.unpack_from("=LHHLL", data, offset)
            if length < 16:
                break
            if kind in (NLMSG_DONE, NLMSG_ERROR):
                done = True
            else:
                messages += 1
            offset += (length + 3) & ~3
elapsed = time.monotonic() - start
print(json.dumps({"dumps": dumps, "reply_messages": messages, "seconds": round(elapsed, 3)}))
