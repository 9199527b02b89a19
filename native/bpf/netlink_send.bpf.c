// SPDX-License-Identifier: GPL-2.0 OR MIT
// nlmonctl: who sent each netlink message, recorded in the kernel at send time (issue 10).
//
// Built by native/build.rs with clang -target bpf -g -O2 and embedded in the addon; loaded by
// native/src/attribution/bpf.rs (aya), which applies the CO-RE relocations against the running
// kernel's BTF (/sys/kernel/btf/vmlinux).
//
// Hook: fentry on netlink_unicast() and netlink_broadcast(). Why:
// - netlink_sendmsg() hands every message a process sends to one of them (a multicast send to
//   both), in the sender's own context (current = the sending thread), and for a kernel-bound
//   message before netlink_unicast_kernel() gives it to nlmon's tap: the event is in the ring
//   before the capture can see the packet.
// - Both are exported (EXPORT_SYMBOL), so never inlined, and their signatures are the same from
//   6.1 (bookworm) to 7.2 (sid): netlink_unicast(ssk, skb, portid, nonblock),
//   netlink_broadcast(ssk, skb, portid, group, allocation). Attached and tested on Debian's
//   6.1, 6.12 and 7.2 kernels in the guest (test/kernel/attribution.test.ts).
// - fentry (x86-64 since 5.5) rather than kprobe: typed arguments (no pt_regs, no per-arch
//   register names), and a direct trampoline call instead of a breakpoint trap, which matters
//   for the capture's CPU budget. It needs BTF, which CO-RE needs anyway.
// The kernel also calls these for its own replies and notifications (ssk is then a kernel
// socket, whose port id is 0): those are skipped, the capture attributes them by port id.
//
// Fallback hook, for kernels built without fentry (no DYNAMIC_FTRACE_WITH_DIRECT_CALLS) and
// without kprobes — e.g. the development machine's 6.18 (a Firecracker build), where fentry
// programs fail to load with EPERM and kprobes do not exist: the raw tracepoint
// consume_skb, which netlink_unicast_kernel() hits after the kernel socket processed the request,
// still in the sender's context. The skb's owner is then the kernel socket (same namespace and
// protocol as the sender's), NETLINK_CB(skb).portid the sender's port id, and the messages are
// at skb->head (netlink_sendmsg() reserves no headroom) up to skb->tail (the data pointer has
// moved past them). Its limits: the event comes AFTER nlmon's tap saw the request (the reader
// must poll the ring again before it gives up on a request), only kernel-bound messages are
// seen, and a dump request's skb is freed only when its dump ends.
//
// No vmlinux.h (no bpftool here): only the fields read are declared, and preserve_access_index
// makes every access a CO-RE relocation, so their offsets come from the running kernel.

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)
struct ns_common {
	unsigned int inum;
};
struct net {
	struct ns_common ns;
};
typedef struct {
	struct net *net;
} possible_net_t;
struct sock_common {
	unsigned short skc_family;
	possible_net_t skc_net;
};
struct sock {
	struct sock_common __sk_common;
	__u16 sk_protocol;
};
struct netlink_sock {
	struct sock sk;
	__u32 portid;
};
struct sk_buff {
	unsigned int len;
	unsigned char *data;
	unsigned char *head;
	unsigned int tail; /* sk_buff_data_t: an offset from head on 64-bit */
	struct sock *sk;
	char cb[48];
};
struct netlink_skb_parms {
	__u32 portid;
};
struct pid_namespace {
	struct ns_common ns;
};
struct upid {
	int nr;
	struct pid_namespace *ns;
};
struct pid {
	unsigned int level;
	struct upid numbers[];
};
struct task_struct {
	struct pid *thread_pid;
	struct task_struct *group_leader;
};
#pragma clang attribute pop

#define AF_NETLINK 16
#define NLMSG_HDRLEN 16
#define NLMSG_ALIGN(len) (((len) + 3U) & ~3U)

/* How many leading bytes of each message are copied (for exact matching with the capture). */
#define PREFIX_LEN 256
/* Messages walked per send: a bounded loop the verifier unrolls (nftables batches are longer:
 * the rest is counted in STAT_TRUNCATED). */
#define MAX_MSGS 64

enum send_kind {
	KIND_UNICAST = 0,
	KIND_BROADCAST = 1,
	KIND_CONSUMED = 2, /* the consume_skb fallback: a kernel-bound message, after the fact */
};

/* One sent message. Layout shared with native/src/attribution/bpf.rs (RawEvent). */
struct send_event {
	__u64 ktime; /* when it was recorded: CLOCK_MONOTONIC, ns (bpf_ktime_get_ns) */
	__u32 netns; /* the sending socket's network namespace (inode number) */
	__u32 tgid;
	__u32 tid;
	__u32 portid; /* the sending socket's port id */
	__u32 dst; /* unicast: destination port id (0 = kernel); broadcast: group */
	__u16 protocol;
	__u8 kind;
	__u8 pad;
	__u32 index; /* the message's place in its send (0 = first) */
	__u32 copied; /* bytes of data[] that are the message's */
	__u32 nlmsg_len;
	__u16 nlmsg_type;
	__u16 nlmsg_flags;
	__u32 nlmsg_seq;
	__u32 nlmsg_pid;
	char comm[16];
	__u8 data[PREFIX_LEN];
};

enum stat {
	STAT_LOST = 0, /* ring buffer full: an event not recorded */
	STAT_TRUNCATED = 1, /* messages beyond MAX_MSGS in one send: not recorded */
	STAT_COUNT = 2,
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} EVENTS SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} STATS SEC(".maps");

/* The network namespace (inode) to record; 0 records every namespace. Set by the loader. */
const volatile __u32 TARGET_NETNS = 0;
/* The reader's pid namespace (inode), when it is not the initial one: pids are then given as
 * that namespace numbers them. Set by the loader. */
const volatile __u32 PIDNS_INUM = 0;

/* Deepest pid namespace level (the kernel's MAX_PID_NS_LEVEL). */
#define MAX_PID_NS_LEVEL 32

/* A task's pid as the reader's pid namespace numbers it; 0 when the task is not in it (nor
 * below it). The reader's level is not known from inside a container (its /proc shows its own
 * namespace down), so the task's pid numbers are searched from its own level up, for the one
 * whose namespace is the reader's: a sender in the reader's namespace or just below matches at
 * once. */
static __always_inline __u32 pid_in_ns(struct task_struct *task)
{
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	if (!pid)
		return 0;
	int level = BPF_CORE_READ(pid, level);
	for (int k = 0; k <= MAX_PID_NS_LEVEL; k++) {
		int i = level - k;
		if (i < 0)
			break;
		/* numbers[i]: struct upid has been { int nr; struct pid_namespace *ns; } since 2.6.24 */
		struct upid upid;
		if (bpf_probe_read_kernel(&upid, sizeof(upid), &pid->numbers[i]))
			return 0;
		if (upid.ns && BPF_CORE_READ(upid.ns, ns.inum) == PIDNS_INUM)
			return upid.nr;
	}
	return 0;
}

static __always_inline void count(__u32 which)
{
	__u64 *value = bpf_map_lookup_elem(&STATS, &which);
	if (value)
		__sync_fetch_and_add(value, 1);
}

/* Record the messages in data[0..len) sent from port `portid` of socket `sk`'s namespace and
 * protocol. */
static __always_inline int record(struct sock *sk, __u32 portid, unsigned char *data, __u32 len, __u32 dst,
				  __u8 kind)
{
	if (portid == 0)
		return 0; /* a kernel socket: a reply or notification, not a process's send */
	__u32 netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	if (TARGET_NETNS != 0 && netns != TARGET_NETNS)
		return 0;
	__u16 protocol = BPF_CORE_READ(sk, sk_protocol);
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (PIDNS_INUM != 0) {
		struct task_struct *task = (struct task_struct *)bpf_get_current_task();
		__u32 tid = pid_in_ns(task);
		__u32 tgid = pid_in_ns(BPF_CORE_READ(task, group_leader));
		/* a sender the reader's namespace cannot see is recorded as pid 0: nobody known */
		pid_tgid = ((__u64)tgid << 32) | tid;
	}

	__u32 off = 0;
	int i;
	for (i = 0; i < MAX_MSGS; i++) {
		struct {
			__u32 len;
			__u16 type;
			__u16 flags;
			__u32 seq;
			__u32 pid;
		} hdr;
		if (off + NLMSG_HDRLEN > len)
			break;
		if (bpf_probe_read_kernel(&hdr, sizeof(hdr), data + off))
			break;
		/* the same bounds the kernel's netlink_rcv_skb() keeps to */
		if (hdr.len < NLMSG_HDRLEN || hdr.len > len - off)
			break;
		struct send_event *e = bpf_ringbuf_reserve(&EVENTS, sizeof(*e), 0);
		if (!e) {
			count(STAT_LOST);
		} else {
			e->ktime = bpf_ktime_get_ns();
			e->netns = netns;
			e->tgid = pid_tgid >> 32;
			e->tid = (__u32)pid_tgid;
			e->portid = portid;
			e->dst = dst;
			e->protocol = protocol;
			e->kind = kind;
			e->pad = 0;
			e->index = i;
			e->nlmsg_len = hdr.len;
			e->nlmsg_type = hdr.type;
			e->nlmsg_flags = hdr.flags;
			e->nlmsg_seq = hdr.seq;
			e->nlmsg_pid = hdr.pid;
			bpf_get_current_comm(e->comm, sizeof(e->comm));
			__u32 n = hdr.len;
			if (n > PREFIX_LEN)
				n = PREFIX_LEN;
			e->copied = n;
			if (bpf_probe_read_kernel(e->data, n, data + off))
				e->copied = 0;
			bpf_ringbuf_submit(e, 0);
		}
		off += NLMSG_ALIGN(hdr.len);
	}
	if (i == MAX_MSGS && off + NLMSG_HDRLEN <= len)
		count(STAT_TRUNCATED);
	return 0;
}

SEC("fentry/netlink_unicast")
int BPF_PROG(netlink_unicast_entry, struct sock *ssk, struct sk_buff *skb, __u32 portid, int nonblock)
{
	__u32 sender = BPF_CORE_READ((struct netlink_sock *)ssk, portid);
	return record(ssk, sender, BPF_CORE_READ(skb, data), BPF_CORE_READ(skb, len), portid, KIND_UNICAST);
}

SEC("fentry/netlink_broadcast")
int BPF_PROG(netlink_broadcast_entry, struct sock *ssk, struct sk_buff *skb, __u32 portid, __u32 group,
	     unsigned int allocation)
{
	__u32 sender = BPF_CORE_READ((struct netlink_sock *)ssk, portid);
	return record(ssk, sender, BPF_CORE_READ(skb, data), BPF_CORE_READ(skb, len), group, KIND_BROADCAST);
}

/* consume_skb(skb[, location]): every skb freed normally, system-wide — left at the first
 * check unless its owner is a kernel netlink socket. */
SEC("raw_tp/consume_skb")
int consume_skb_entry(struct bpf_raw_tracepoint_args *ctx)
{
	struct sk_buff *skb = (struct sk_buff *)ctx->args[0];
	struct sock *sk = BPF_CORE_READ(skb, sk);
	if (!sk || BPF_CORE_READ(sk, __sk_common.skc_family) != AF_NETLINK)
		return 0;
	if (BPF_CORE_READ((struct netlink_sock *)sk, portid) != 0)
		return 0; /* owned by a process's socket: a message it received */
	/* NETLINK_CB(skb): cb is an array inside the skb, so its (relocated) address, not a read */
	struct netlink_skb_parms *cb = (struct netlink_skb_parms *)&skb->cb;
	__u32 sender = BPF_CORE_READ(cb, portid);
	return record(sk, sender, BPF_CORE_READ(skb, head), BPF_CORE_READ(skb, tail), 0, KIND_CONSUMED);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
