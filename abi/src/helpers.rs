//! Helper functions: their numbers and names (`enum bpf_func_id` in
//! `linux/bpf.h`) and, for the helpers bpfbox implements, their prototypes:
//! what the verifier must prove about each argument register before the call
//! and what r0 holds after it.
//!
//! A program calls a helper with `call N`; r1–r5 carry the arguments and r0
//! the result, and r1–r5 are unreadable after the call.

use std::fmt;

/// A helper function number: the immediate of `call`.
///
/// Every helper Linux numbers has an associated constant, named as in
/// `linux/bpf.h` without the `bpf_` prefix (`HelperId::MAP_LOOKUP_ELEM` is
/// 1). Number 0 ([`HelperId::UNSPEC`]) is reserved and calls no helper.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct HelperId(pub u32);

macro_rules! helper_ids {
    ($($name:ident = $num:literal, $text:literal;)*) => {
        impl HelperId {
    /// The number a loader writes over an instruction whose CO-RE relocation
    /// it could not resolve (libbpf's convention, `0xbad2310`): loading
    /// succeeds, and the run fails only if it reaches the instruction.
    pub const CORE_POISON: HelperId = HelperId(0xbad_2310);
}

impl HelperId {
            $(
                #[doc = concat!("Helper ", stringify!($num), ": `", $text, "`.")]
                pub const $name: HelperId = HelperId($num);
            )*
        }

        /// Names indexed by number.
        const NAMES: &[&str] = &[$($text,)*];
    };
}

// The list of `__BPF_FUNC_MAPPER` in the uapi header (Linux 6.1 headers:
// 210 numbers, `unspec` = 0 to `user_ringbuf_drain` = 209), generated from
// the header in its order. Do not edit by hand.
helper_ids! {
    UNSPEC = 0, "unspec";
    MAP_LOOKUP_ELEM = 1, "map_lookup_elem";
    MAP_UPDATE_ELEM = 2, "map_update_elem";
    MAP_DELETE_ELEM = 3, "map_delete_elem";
    PROBE_READ = 4, "probe_read";
    KTIME_GET_NS = 5, "ktime_get_ns";
    TRACE_PRINTK = 6, "trace_printk";
    GET_PRANDOM_U32 = 7, "get_prandom_u32";
    GET_SMP_PROCESSOR_ID = 8, "get_smp_processor_id";
    SKB_STORE_BYTES = 9, "skb_store_bytes";
    L3_CSUM_REPLACE = 10, "l3_csum_replace";
    L4_CSUM_REPLACE = 11, "l4_csum_replace";
    TAIL_CALL = 12, "tail_call";
    CLONE_REDIRECT = 13, "clone_redirect";
    GET_CURRENT_PID_TGID = 14, "get_current_pid_tgid";
    GET_CURRENT_UID_GID = 15, "get_current_uid_gid";
    GET_CURRENT_COMM = 16, "get_current_comm";
    GET_CGROUP_CLASSID = 17, "get_cgroup_classid";
    SKB_VLAN_PUSH = 18, "skb_vlan_push";
    SKB_VLAN_POP = 19, "skb_vlan_pop";
    SKB_GET_TUNNEL_KEY = 20, "skb_get_tunnel_key";
    SKB_SET_TUNNEL_KEY = 21, "skb_set_tunnel_key";
    PERF_EVENT_READ = 22, "perf_event_read";
    REDIRECT = 23, "redirect";
    GET_ROUTE_REALM = 24, "get_route_realm";
    PERF_EVENT_OUTPUT = 25, "perf_event_output";
    SKB_LOAD_BYTES = 26, "skb_load_bytes";
    GET_STACKID = 27, "get_stackid";
    CSUM_DIFF = 28, "csum_diff";
    SKB_GET_TUNNEL_OPT = 29, "skb_get_tunnel_opt";
    SKB_SET_TUNNEL_OPT = 30, "skb_set_tunnel_opt";
    SKB_CHANGE_PROTO = 31, "skb_change_proto";
    SKB_CHANGE_TYPE = 32, "skb_change_type";
    SKB_UNDER_CGROUP = 33, "skb_under_cgroup";
    GET_HASH_RECALC = 34, "get_hash_recalc";
    GET_CURRENT_TASK = 35, "get_current_task";
    PROBE_WRITE_USER = 36, "probe_write_user";
    CURRENT_TASK_UNDER_CGROUP = 37, "current_task_under_cgroup";
    SKB_CHANGE_TAIL = 38, "skb_change_tail";
    SKB_PULL_DATA = 39, "skb_pull_data";
    CSUM_UPDATE = 40, "csum_update";
    SET_HASH_INVALID = 41, "set_hash_invalid";
    GET_NUMA_NODE_ID = 42, "get_numa_node_id";
    SKB_CHANGE_HEAD = 43, "skb_change_head";
    XDP_ADJUST_HEAD = 44, "xdp_adjust_head";
    PROBE_READ_STR = 45, "probe_read_str";
    GET_SOCKET_COOKIE = 46, "get_socket_cookie";
    GET_SOCKET_UID = 47, "get_socket_uid";
    SET_HASH = 48, "set_hash";
    SETSOCKOPT = 49, "setsockopt";
    SKB_ADJUST_ROOM = 50, "skb_adjust_room";
    REDIRECT_MAP = 51, "redirect_map";
    SK_REDIRECT_MAP = 52, "sk_redirect_map";
    SOCK_MAP_UPDATE = 53, "sock_map_update";
    XDP_ADJUST_META = 54, "xdp_adjust_meta";
    PERF_EVENT_READ_VALUE = 55, "perf_event_read_value";
    PERF_PROG_READ_VALUE = 56, "perf_prog_read_value";
    GETSOCKOPT = 57, "getsockopt";
    OVERRIDE_RETURN = 58, "override_return";
    SOCK_OPS_CB_FLAGS_SET = 59, "sock_ops_cb_flags_set";
    MSG_REDIRECT_MAP = 60, "msg_redirect_map";
    MSG_APPLY_BYTES = 61, "msg_apply_bytes";
    MSG_CORK_BYTES = 62, "msg_cork_bytes";
    MSG_PULL_DATA = 63, "msg_pull_data";
    BIND = 64, "bind";
    XDP_ADJUST_TAIL = 65, "xdp_adjust_tail";
    SKB_GET_XFRM_STATE = 66, "skb_get_xfrm_state";
    GET_STACK = 67, "get_stack";
    SKB_LOAD_BYTES_RELATIVE = 68, "skb_load_bytes_relative";
    FIB_LOOKUP = 69, "fib_lookup";
    SOCK_HASH_UPDATE = 70, "sock_hash_update";
    MSG_REDIRECT_HASH = 71, "msg_redirect_hash";
    SK_REDIRECT_HASH = 72, "sk_redirect_hash";
    LWT_PUSH_ENCAP = 73, "lwt_push_encap";
    LWT_SEG6_STORE_BYTES = 74, "lwt_seg6_store_bytes";
    LWT_SEG6_ADJUST_SRH = 75, "lwt_seg6_adjust_srh";
    LWT_SEG6_ACTION = 76, "lwt_seg6_action";
    RC_REPEAT = 77, "rc_repeat";
    RC_KEYDOWN = 78, "rc_keydown";
    SKB_CGROUP_ID = 79, "skb_cgroup_id";
    GET_CURRENT_CGROUP_ID = 80, "get_current_cgroup_id";
    GET_LOCAL_STORAGE = 81, "get_local_storage";
    SK_SELECT_REUSEPORT = 82, "sk_select_reuseport";
    SKB_ANCESTOR_CGROUP_ID = 83, "skb_ancestor_cgroup_id";
    SK_LOOKUP_TCP = 84, "sk_lookup_tcp";
    SK_LOOKUP_UDP = 85, "sk_lookup_udp";
    SK_RELEASE = 86, "sk_release";
    MAP_PUSH_ELEM = 87, "map_push_elem";
    MAP_POP_ELEM = 88, "map_pop_elem";
    MAP_PEEK_ELEM = 89, "map_peek_elem";
    MSG_PUSH_DATA = 90, "msg_push_data";
    MSG_POP_DATA = 91, "msg_pop_data";
    RC_POINTER_REL = 92, "rc_pointer_rel";
    SPIN_LOCK = 93, "spin_lock";
    SPIN_UNLOCK = 94, "spin_unlock";
    SK_FULLSOCK = 95, "sk_fullsock";
    TCP_SOCK = 96, "tcp_sock";
    SKB_ECN_SET_CE = 97, "skb_ecn_set_ce";
    GET_LISTENER_SOCK = 98, "get_listener_sock";
    SKC_LOOKUP_TCP = 99, "skc_lookup_tcp";
    TCP_CHECK_SYNCOOKIE = 100, "tcp_check_syncookie";
    SYSCTL_GET_NAME = 101, "sysctl_get_name";
    SYSCTL_GET_CURRENT_VALUE = 102, "sysctl_get_current_value";
    SYSCTL_GET_NEW_VALUE = 103, "sysctl_get_new_value";
    SYSCTL_SET_NEW_VALUE = 104, "sysctl_set_new_value";
    STRTOL = 105, "strtol";
    STRTOUL = 106, "strtoul";
    SK_STORAGE_GET = 107, "sk_storage_get";
    SK_STORAGE_DELETE = 108, "sk_storage_delete";
    SEND_SIGNAL = 109, "send_signal";
    TCP_GEN_SYNCOOKIE = 110, "tcp_gen_syncookie";
    SKB_OUTPUT = 111, "skb_output";
    PROBE_READ_USER = 112, "probe_read_user";
    PROBE_READ_KERNEL = 113, "probe_read_kernel";
    PROBE_READ_USER_STR = 114, "probe_read_user_str";
    PROBE_READ_KERNEL_STR = 115, "probe_read_kernel_str";
    TCP_SEND_ACK = 116, "tcp_send_ack";
    SEND_SIGNAL_THREAD = 117, "send_signal_thread";
    JIFFIES64 = 118, "jiffies64";
    READ_BRANCH_RECORDS = 119, "read_branch_records";
    GET_NS_CURRENT_PID_TGID = 120, "get_ns_current_pid_tgid";
    XDP_OUTPUT = 121, "xdp_output";
    GET_NETNS_COOKIE = 122, "get_netns_cookie";
    GET_CURRENT_ANCESTOR_CGROUP_ID = 123, "get_current_ancestor_cgroup_id";
    SK_ASSIGN = 124, "sk_assign";
    KTIME_GET_BOOT_NS = 125, "ktime_get_boot_ns";
    SEQ_PRINTF = 126, "seq_printf";
    SEQ_WRITE = 127, "seq_write";
    SK_CGROUP_ID = 128, "sk_cgroup_id";
    SK_ANCESTOR_CGROUP_ID = 129, "sk_ancestor_cgroup_id";
    RINGBUF_OUTPUT = 130, "ringbuf_output";
    RINGBUF_RESERVE = 131, "ringbuf_reserve";
    RINGBUF_SUBMIT = 132, "ringbuf_submit";
    RINGBUF_DISCARD = 133, "ringbuf_discard";
    RINGBUF_QUERY = 134, "ringbuf_query";
    CSUM_LEVEL = 135, "csum_level";
    SKC_TO_TCP6_SOCK = 136, "skc_to_tcp6_sock";
    SKC_TO_TCP_SOCK = 137, "skc_to_tcp_sock";
    SKC_TO_TCP_TIMEWAIT_SOCK = 138, "skc_to_tcp_timewait_sock";
    SKC_TO_TCP_REQUEST_SOCK = 139, "skc_to_tcp_request_sock";
    SKC_TO_UDP6_SOCK = 140, "skc_to_udp6_sock";
    GET_TASK_STACK = 141, "get_task_stack";
    LOAD_HDR_OPT = 142, "load_hdr_opt";
    STORE_HDR_OPT = 143, "store_hdr_opt";
    RESERVE_HDR_OPT = 144, "reserve_hdr_opt";
    INODE_STORAGE_GET = 145, "inode_storage_get";
    INODE_STORAGE_DELETE = 146, "inode_storage_delete";
    D_PATH = 147, "d_path";
    COPY_FROM_USER = 148, "copy_from_user";
    SNPRINTF_BTF = 149, "snprintf_btf";
    SEQ_PRINTF_BTF = 150, "seq_printf_btf";
    SKB_CGROUP_CLASSID = 151, "skb_cgroup_classid";
    REDIRECT_NEIGH = 152, "redirect_neigh";
    PER_CPU_PTR = 153, "per_cpu_ptr";
    THIS_CPU_PTR = 154, "this_cpu_ptr";
    REDIRECT_PEER = 155, "redirect_peer";
    TASK_STORAGE_GET = 156, "task_storage_get";
    TASK_STORAGE_DELETE = 157, "task_storage_delete";
    GET_CURRENT_TASK_BTF = 158, "get_current_task_btf";
    BPRM_OPTS_SET = 159, "bprm_opts_set";
    KTIME_GET_COARSE_NS = 160, "ktime_get_coarse_ns";
    IMA_INODE_HASH = 161, "ima_inode_hash";
    SOCK_FROM_FILE = 162, "sock_from_file";
    CHECK_MTU = 163, "check_mtu";
    FOR_EACH_MAP_ELEM = 164, "for_each_map_elem";
    SNPRINTF = 165, "snprintf";
    SYS_BPF = 166, "sys_bpf";
    BTF_FIND_BY_NAME_KIND = 167, "btf_find_by_name_kind";
    SYS_CLOSE = 168, "sys_close";
    TIMER_INIT = 169, "timer_init";
    TIMER_SET_CALLBACK = 170, "timer_set_callback";
    TIMER_START = 171, "timer_start";
    TIMER_CANCEL = 172, "timer_cancel";
    GET_FUNC_IP = 173, "get_func_ip";
    GET_ATTACH_COOKIE = 174, "get_attach_cookie";
    TASK_PT_REGS = 175, "task_pt_regs";
    GET_BRANCH_SNAPSHOT = 176, "get_branch_snapshot";
    TRACE_VPRINTK = 177, "trace_vprintk";
    SKC_TO_UNIX_SOCK = 178, "skc_to_unix_sock";
    KALLSYMS_LOOKUP_NAME = 179, "kallsyms_lookup_name";
    FIND_VMA = 180, "find_vma";
    LOOP = 181, "loop";
    STRNCMP = 182, "strncmp";
    GET_FUNC_ARG = 183, "get_func_arg";
    GET_FUNC_RET = 184, "get_func_ret";
    GET_FUNC_ARG_CNT = 185, "get_func_arg_cnt";
    GET_RETVAL = 186, "get_retval";
    SET_RETVAL = 187, "set_retval";
    XDP_GET_BUFF_LEN = 188, "xdp_get_buff_len";
    XDP_LOAD_BYTES = 189, "xdp_load_bytes";
    XDP_STORE_BYTES = 190, "xdp_store_bytes";
    COPY_FROM_USER_TASK = 191, "copy_from_user_task";
    SKB_SET_TSTAMP = 192, "skb_set_tstamp";
    IMA_FILE_HASH = 193, "ima_file_hash";
    KPTR_XCHG = 194, "kptr_xchg";
    MAP_LOOKUP_PERCPU_ELEM = 195, "map_lookup_percpu_elem";
    SKC_TO_MPTCP_SOCK = 196, "skc_to_mptcp_sock";
    DYNPTR_FROM_MEM = 197, "dynptr_from_mem";
    RINGBUF_RESERVE_DYNPTR = 198, "ringbuf_reserve_dynptr";
    RINGBUF_SUBMIT_DYNPTR = 199, "ringbuf_submit_dynptr";
    RINGBUF_DISCARD_DYNPTR = 200, "ringbuf_discard_dynptr";
    DYNPTR_READ = 201, "dynptr_read";
    DYNPTR_WRITE = 202, "dynptr_write";
    DYNPTR_DATA = 203, "dynptr_data";
    TCP_RAW_GEN_SYNCOOKIE_IPV4 = 204, "tcp_raw_gen_syncookie_ipv4";
    TCP_RAW_GEN_SYNCOOKIE_IPV6 = 205, "tcp_raw_gen_syncookie_ipv6";
    TCP_RAW_CHECK_SYNCOOKIE_IPV4 = 206, "tcp_raw_check_syncookie_ipv4";
    TCP_RAW_CHECK_SYNCOOKIE_IPV6 = 207, "tcp_raw_check_syncookie_ipv6";
    KTIME_GET_TAI_NS = 208, "ktime_get_tai_ns";
    USER_RINGBUF_DRAIN = 209, "user_ringbuf_drain";
}

impl HelperId {
    /// Every number Linux names (including the reserved 0), ascending.
    pub fn all() -> impl Iterator<Item = HelperId> {
        (0..NAMES.len() as u32).map(HelperId)
    }

    /// The helper's name without the `bpf_` prefix (`"map_lookup_elem"`),
    /// if Linux names this number.
    pub fn name(self) -> Option<&'static str> {
        NAMES.get(usize::try_from(self.0).ok()?).copied()
    }

    /// The helper called `name`, with or without the `bpf_` prefix
    /// (`"map_lookup_elem"`, `"bpf_map_lookup_elem"`).
    pub fn from_name(name: &str) -> Option<HelperId> {
        let name = name.strip_prefix("bpf_").unwrap_or(name);
        let index = NAMES.iter().position(|&known| known == name)?;
        Some(HelperId(index as u32))
    }

    /// The helper's prototype, if bpfbox implements it ([`prototype`]).
    pub fn prototype(self) -> Option<&'static HelperProto> {
        prototype(self)
    }
}

/// The name (`map_lookup_elem`), or `unknown#N` for a number Linux does not
/// name, as the kernel's verifier log spells it.
impl fmt::Display for HelperId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "unknown#{}", self.0),
        }
    }
}

/// What the verifier must prove about one argument register before a call.
///
/// A size argument ([`ArgKind::ConstSize`], [`ArgKind::ConstSizeOrZero`])
/// always directly follows the memory argument whose length it gives
/// ([`ArgKind::Mem`], [`ArgKind::UninitMem`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ArgKind {
    /// Any initialised value. A pointer passes only where the loader allows
    /// programs to leak addresses (privileged loads); the helper sees a
    /// number.
    Anything,
    /// A map, as loaded by `lddw` with a map reference: the helper's map
    /// argument, which the later key and value arguments are sized by.
    ConstMapPtr,
    /// A pointer to the map's key: `key_size` readable, initialised bytes.
    MapKey,
    /// A pointer to a value: `value_size` readable, initialised bytes.
    MapValue,
    /// A pointer to `value_size` writable bytes that the helper fills; they
    /// need not be initialised and are initialised after the call.
    UninitMapValue,
    /// A pointer to memory whose length the next argument gives. `readonly`:
    /// the helper only reads it, so read-only memory is accepted; otherwise
    /// it must be writable too. Either way its bytes must be initialised.
    /// `maybe_null`: NULL is accepted (with a length of zero).
    Mem {
        /// The helper does not write through the pointer.
        readonly: bool,
        /// NULL is accepted.
        maybe_null: bool,
    },
    /// A pointer to writable memory, whose length the next argument gives,
    /// that the helper fills: it need not be initialised, and is after the
    /// call.
    UninitMem,
    /// The length of the previous memory argument: a scalar whose bounds the
    /// verifier knows, greater than zero.
    ConstSize,
    /// As [`ArgKind::ConstSize`], but zero is accepted.
    ConstSizeOrZero,
    /// The size of memory the helper allocates (a ring buffer record): a
    /// scalar known exactly, possibly zero, which sizes the returned memory.
    ConstAllocSizeOrZero,
    /// A pointer returned by [`RetKind::AllocMemOrNull`], not NULL and not
    /// moved from the start of its record. The call releases it: the
    /// program may not touch the record afterwards.
    AllocMem,
    /// The context pointer the program was started with (r1 at entry),
    /// unmodified.
    Ctx,
    /// The address of a function of this program (`lddw` with a function
    /// reference), which the helper calls back; the prototype entry gives
    /// the callback's arguments.
    Callback,
    /// A pointer into the program's stack, or NULL: data handed through to
    /// the callback.
    StackOrNull,
    /// A pointer to a `struct bpf_spin_lock` inside a map value.
    SpinLock,
}

/// What r0 holds after a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RetKind {
    /// A scalar: a result or a negative errno.
    Integer,
    /// Nothing: r0 is unreadable after the call.
    Void,
    /// A pointer to a value of the map argument (`value_size` bytes,
    /// readable and writable) or NULL; the program must test it against
    /// NULL before use.
    MapValueOrNull,
    /// A pointer to newly reserved memory (a ring buffer record) whose size
    /// is the [`ArgKind::ConstAllocSizeOrZero`] argument, or NULL. Once not
    /// NULL, the program must release it (with an [`ArgKind::AllocMem`]
    /// argument) on every path before it exits.
    AllocMemOrNull,
}

/// A helper's prototype.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HelperProto {
    /// The helper.
    pub id: HelperId,
    /// What r0 holds after the call.
    pub ret: RetKind,
    /// The arguments, r1 first (at most 5). Registers past the last are not
    /// checked.
    pub args: &'static [ArgKind],
}

impl HelperProto {
    /// The helper's name (`map_lookup_elem`).
    pub fn name(&self) -> &'static str {
        self.id.name().unwrap_or("unknown")
    }
}

/// The largest number of iterations `loop` accepts (2^23); more returns
/// `-E2BIG` without calling the callback.
pub const MAX_LOOPS: u64 = 1 << 23;

/// Flags of helper arguments (`BPF_F_*` and `BPF_RB_*` in `linux/bpf.h`).
pub mod flags {
    /// `skb_store_bytes`: update the packet's checksum.
    pub const RECOMPUTE_CSUM: u64 = 1 << 0;
    /// `skb_store_bytes`: clear the packet's hash.
    pub const INVALIDATE_HASH: u64 = 1 << 1;
    /// `l3_csum_replace`, `l4_csum_replace`: the size of the replaced field
    /// (0, 2 or 4) is in these bits.
    pub const HDR_FIELD_MASK: u64 = 0xf;
    /// `l4_csum_replace`: the field is part of the pseudo-header.
    pub const PSEUDO_HDR: u64 = 1 << 4;
    /// `l4_csum_replace`: a resulting zero checksum is written as `0xffff`.
    pub const MARK_MANGLED_0: u64 = 1 << 5;
    /// `l4_csum_replace`: update a zero (absent) checksum too.
    pub const MARK_ENFORCE: u64 = 1 << 6;
    /// `perf_event_output`: the index bits of the flags.
    pub const INDEX_MASK: u64 = 0xffff_ffff;
    /// `perf_event_output`: the index meaning "the current CPU".
    pub const CURRENT_CPU: u64 = INDEX_MASK;
    /// `ringbuf_output`, `ringbuf_submit`, `ringbuf_discard`: do not wake the
    /// consumer.
    pub const RB_NO_WAKEUP: u64 = 1 << 0;
    /// `ringbuf_output`, `ringbuf_submit`, `ringbuf_discard`: wake the
    /// consumer unconditionally.
    pub const RB_FORCE_WAKEUP: u64 = 1 << 1;
    /// `ringbuf_query`: bytes not yet consumed.
    pub const RB_AVAIL_DATA: u64 = 0;
    /// `ringbuf_query`: the ring's data size.
    pub const RB_RING_SIZE: u64 = 1;
    /// `ringbuf_query`: the consumer position.
    pub const RB_CONS_POS: u64 = 2;
    /// `ringbuf_query`: the producer position.
    pub const RB_PROD_POS: u64 = 3;
    /// `redirect`: to the device's receive path rather than its transmit
    /// path (tc only).
    pub const INGRESS: u64 = 1 << 0;
    /// `redirect_map`: to every device of the map (XDP).
    pub const BROADCAST: u64 = 1 << 3;
    /// `redirect_map` with [`BROADCAST`]: leave out the ingress device.
    pub const EXCLUDE_INGRESS: u64 = 1 << 4;
}

use ArgKind::{
    AllocMem, Anything, Callback, ConstAllocSizeOrZero, ConstMapPtr, ConstSize, ConstSizeOrZero,
    Ctx, MapKey, MapValue, SpinLock, StackOrNull, UninitMapValue, UninitMem,
};

/// Read-only, initialised memory, not NULL.
const RO_MEM: ArgKind = ArgKind::Mem {
    readonly: true,
    maybe_null: false,
};
/// Read-only, initialised memory, or NULL.
const RO_MEM_OR_NULL: ArgKind = ArgKind::Mem {
    readonly: true,
    maybe_null: true,
};

const fn proto(id: HelperId, ret: RetKind, args: &'static [ArgKind]) -> HelperProto {
    HelperProto { id, ret, args }
}

/// The prototypes of the helpers bpfbox implements, by number.
static PROTOTYPES: &[HelperProto] = &[
    // (map, key) -> value or NULL.
    proto(
        HelperId::MAP_LOOKUP_ELEM,
        RetKind::MapValueOrNull,
        &[ConstMapPtr, MapKey],
    ),
    // (map, key, value, flags).
    proto(
        HelperId::MAP_UPDATE_ELEM,
        RetKind::Integer,
        &[ConstMapPtr, MapKey, MapValue, Anything],
    ),
    proto(
        HelperId::MAP_DELETE_ELEM,
        RetKind::Integer,
        &[ConstMapPtr, MapKey],
    ),
    proto(HelperId::KTIME_GET_NS, RetKind::Integer, &[]),
    // (fmt, fmt_size, up to three values): the values (r3–r5) are not
    // checked, as the format may use fewer.
    proto(
        HelperId::TRACE_PRINTK,
        RetKind::Integer,
        &[RO_MEM, ConstSize],
    ),
    proto(HelperId::GET_PRANDOM_U32, RetKind::Integer, &[]),
    proto(HelperId::GET_SMP_PROCESSOR_ID, RetKind::Integer, &[]),
    // (skb, offset, from, len, flags).
    proto(
        HelperId::SKB_STORE_BYTES,
        RetKind::Integer,
        &[Ctx, Anything, RO_MEM, ConstSize, Anything],
    ),
    // (skb, offset, from, to, size and flags).
    proto(
        HelperId::L3_CSUM_REPLACE,
        RetKind::Integer,
        &[Ctx, Anything, Anything, Anything, Anything],
    ),
    proto(
        HelperId::L4_CSUM_REPLACE,
        RetKind::Integer,
        &[Ctx, Anything, Anything, Anything, Anything],
    ),
    // (ctx, prog_array, index): does not return when the call happens.
    proto(
        HelperId::TAIL_CALL,
        RetKind::Void,
        &[Ctx, ConstMapPtr, Anything],
    ),
    proto(HelperId::GET_CURRENT_PID_TGID, RetKind::Integer, &[]),
    // (buf, size).
    proto(
        HelperId::GET_CURRENT_COMM,
        RetKind::Integer,
        &[UninitMem, ConstSize],
    ),
    // (ifindex, flags): the action to return (TC_ACT_REDIRECT,
    // XDP_REDIRECT) or, on bad flags, a drop.
    proto(HelperId::REDIRECT, RetKind::Integer, &[Anything, Anything]),
    // (ctx, map, flags, data, size).
    proto(
        HelperId::PERF_EVENT_OUTPUT,
        RetKind::Integer,
        &[Ctx, ConstMapPtr, Anything, RO_MEM, ConstSizeOrZero],
    ),
    // (skb, offset, to, len).
    proto(
        HelperId::SKB_LOAD_BYTES,
        RetKind::Integer,
        &[Ctx, Anything, UninitMem, ConstSize],
    ),
    // (from, from_size, to, to_size, seed): sizes are multiples of 4.
    proto(
        HelperId::CSUM_DIFF,
        RetKind::Integer,
        &[
            RO_MEM_OR_NULL,
            ConstSizeOrZero,
            RO_MEM_OR_NULL,
            ConstSizeOrZero,
            Anything,
        ],
    ),
    // (xdp_md, delta).
    proto(
        HelperId::XDP_ADJUST_HEAD,
        RetKind::Integer,
        &[Ctx, Anything],
    ),
    // (map, key, flags): the action to return; the low two bits of flags
    // are the action when the key is missing.
    proto(
        HelperId::REDIRECT_MAP,
        RetKind::Integer,
        &[ConstMapPtr, Anything, Anything],
    ),
    proto(
        HelperId::XDP_ADJUST_META,
        RetKind::Integer,
        &[Ctx, Anything],
    ),
    proto(
        HelperId::XDP_ADJUST_TAIL,
        RetKind::Integer,
        &[Ctx, Anything],
    ),
    // (map, value, flags).
    proto(
        HelperId::MAP_PUSH_ELEM,
        RetKind::Integer,
        &[ConstMapPtr, MapValue, Anything],
    ),
    // (map, value out).
    proto(
        HelperId::MAP_POP_ELEM,
        RetKind::Integer,
        &[ConstMapPtr, UninitMapValue],
    ),
    proto(
        HelperId::MAP_PEEK_ELEM,
        RetKind::Integer,
        &[ConstMapPtr, UninitMapValue],
    ),
    // Documented as returning `long` (always 0); the verifier leaves r0
    // unreadable.
    proto(HelperId::SPIN_LOCK, RetKind::Void, &[SpinLock]),
    proto(HelperId::SPIN_UNLOCK, RetKind::Void, &[SpinLock]),
    // (dst, size, unsafe_ptr): the source is any address, checked at run
    // time.
    proto(
        HelperId::PROBE_READ_USER,
        RetKind::Integer,
        &[UninitMem, ConstSizeOrZero, Anything],
    ),
    proto(
        HelperId::PROBE_READ_KERNEL,
        RetKind::Integer,
        &[UninitMem, ConstSizeOrZero, Anything],
    ),
    proto(
        HelperId::PROBE_READ_USER_STR,
        RetKind::Integer,
        &[UninitMem, ConstSizeOrZero, Anything],
    ),
    proto(
        HelperId::PROBE_READ_KERNEL_STR,
        RetKind::Integer,
        &[UninitMem, ConstSizeOrZero, Anything],
    ),
    proto(HelperId::KTIME_GET_BOOT_NS, RetKind::Integer, &[]),
    // (ringbuf, data, size, flags).
    proto(
        HelperId::RINGBUF_OUTPUT,
        RetKind::Integer,
        &[ConstMapPtr, RO_MEM, ConstSizeOrZero, Anything],
    ),
    // (ringbuf, size, flags) -> record or NULL.
    proto(
        HelperId::RINGBUF_RESERVE,
        RetKind::AllocMemOrNull,
        &[ConstMapPtr, ConstAllocSizeOrZero, Anything],
    ),
    // (record, flags).
    proto(
        HelperId::RINGBUF_SUBMIT,
        RetKind::Void,
        &[AllocMem, Anything],
    ),
    proto(
        HelperId::RINGBUF_DISCARD,
        RetKind::Void,
        &[AllocMem, Anything],
    ),
    // (ringbuf, flags).
    proto(
        HelperId::RINGBUF_QUERY,
        RetKind::Integer,
        &[ConstMapPtr, Anything],
    ),
    // (map, callback, callback_ctx, flags); the callback is
    // `long cb(struct bpf_map *map, const void *key, void *value, void *ctx)`
    // and returns 0 (continue) or 1 (stop).
    proto(
        HelperId::FOR_EACH_MAP_ELEM,
        RetKind::Integer,
        &[ConstMapPtr, Callback, StackOrNull, Anything],
    ),
    // (fmt, fmt_size, data, data_len): data holds the values as u64s.
    proto(
        HelperId::TRACE_VPRINTK,
        RetKind::Integer,
        &[RO_MEM, ConstSize, RO_MEM_OR_NULL, ConstSizeOrZero],
    ),
    // (nr_loops, callback, callback_ctx, flags); the callback is
    // `long cb(u32 index, void *ctx)` and returns 0 (continue) or 1 (stop).
    proto(
        HelperId::LOOP,
        RetKind::Integer,
        &[Anything, Callback, StackOrNull, Anything],
    ),
];

/// The prototype of helper `id`, if bpfbox implements it.
pub fn prototype(id: HelperId) -> Option<&'static HelperProto> {
    PROTOTYPES
        .binary_search_by_key(&id, |p| p.id)
        .ok()
        .map(|index| &PROTOTYPES[index])
}

/// Every prototype bpfbox has, by ascending number.
pub fn prototypes() -> &'static [HelperProto] {
    PROTOTYPES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_the_header() {
        let spot = [
            (HelperId::UNSPEC, 0),
            (HelperId::MAP_LOOKUP_ELEM, 1),
            (HelperId::MAP_UPDATE_ELEM, 2),
            (HelperId::MAP_DELETE_ELEM, 3),
            (HelperId::PROBE_READ, 4),
            (HelperId::KTIME_GET_NS, 5),
            (HelperId::TRACE_PRINTK, 6),
            (HelperId::TAIL_CALL, 12),
            (HelperId::GET_CURRENT_PID_TGID, 14),
            (HelperId::GET_CURRENT_COMM, 16),
            (HelperId::REDIRECT, 23),
            (HelperId::PERF_EVENT_OUTPUT, 25),
            (HelperId::SKB_LOAD_BYTES, 26),
            (HelperId::CSUM_DIFF, 28),
            (HelperId::XDP_ADJUST_HEAD, 44),
            (HelperId::REDIRECT_MAP, 51),
            (HelperId::XDP_ADJUST_META, 54),
            (HelperId::XDP_ADJUST_TAIL, 65),
            (HelperId::MAP_PUSH_ELEM, 87),
            (HelperId::SPIN_LOCK, 93),
            (HelperId::PROBE_READ_USER, 112),
            (HelperId::PROBE_READ_KERNEL_STR, 115),
            (HelperId::KTIME_GET_BOOT_NS, 125),
            (HelperId::RINGBUF_OUTPUT, 130),
            (HelperId::RINGBUF_QUERY, 134),
            (HelperId::FOR_EACH_MAP_ELEM, 164),
            (HelperId::TRACE_VPRINTK, 177),
            (HelperId::LOOP, 181),
            (HelperId::USER_RINGBUF_DRAIN, 209),
        ];
        for (id, number) in spot {
            assert_eq!(id, HelperId(number), "{id}");
        }
        assert_eq!(HelperId::all().count(), 210);
        assert_eq!(HelperId::all().last(), Some(HelperId::USER_RINGBUF_DRAIN));
    }

    /// Where the machine has the uapi header, every name it lists must be
    /// ours under the same number (a newer header may list more).
    #[test]
    fn names_match_the_installed_header() {
        let Ok(header) = std::fs::read_to_string("/usr/include/linux/bpf.h") else {
            return;
        };
        let start = header.find("FN(unspec").expect("helper list");
        let names: Vec<&str> = header[start..]
            .lines()
            .take_while(|line| line.contains("FN("))
            .map(|line| {
                let rest = &line[line.find("FN(").unwrap() + 3..];
                rest.split([',', ')']).next().unwrap().trim()
            })
            .collect();
        assert!(names.len() >= 210, "{}", names.len());
        for (number, name) in names.iter().enumerate().take(NAMES.len()) {
            assert_eq!(HelperId(number as u32).name(), Some(*name));
        }
    }

    #[test]
    fn names() {
        assert_eq!(HelperId::MAP_LOOKUP_ELEM.name(), Some("map_lookup_elem"));
        assert_eq!(HelperId(210).name(), None);
        assert_eq!(HelperId(u32::MAX).name(), None);
        assert_eq!(
            HelperId::from_name("ktime_get_ns"),
            Some(HelperId::KTIME_GET_NS)
        );
        assert_eq!(HelperId::from_name("bpf_loop"), Some(HelperId::LOOP));
        assert_eq!(HelperId::from_name("no_such_helper"), None);
        assert_eq!(HelperId::from_name(""), None);
        for id in HelperId::all() {
            assert_eq!(HelperId::from_name(id.name().unwrap()), Some(id));
        }
        assert_eq!(HelperId::RINGBUF_OUTPUT.to_string(), "ringbuf_output");
        assert_eq!(HelperId(999).to_string(), "unknown#999");
    }

    const IMPLEMENTED: [&str; 39] = [
        "map_lookup_elem",
        "map_update_elem",
        "map_delete_elem",
        "map_push_elem",
        "map_pop_elem",
        "map_peek_elem",
        "ktime_get_ns",
        "ktime_get_boot_ns",
        "get_prandom_u32",
        "get_smp_processor_id",
        "trace_printk",
        "trace_vprintk",
        "tail_call",
        "ringbuf_output",
        "ringbuf_reserve",
        "ringbuf_submit",
        "ringbuf_discard",
        "ringbuf_query",
        "perf_event_output",
        "probe_read_kernel",
        "probe_read_user",
        "probe_read_kernel_str",
        "probe_read_user_str",
        "get_current_pid_tgid",
        "get_current_comm",
        "xdp_adjust_head",
        "xdp_adjust_meta",
        "xdp_adjust_tail",
        "redirect",
        "redirect_map",
        "skb_load_bytes",
        "skb_store_bytes",
        "l3_csum_replace",
        "l4_csum_replace",
        "csum_diff",
        "for_each_map_elem",
        "loop",
        "spin_lock",
        "spin_unlock",
    ];

    #[test]
    fn prototype_table() {
        assert!(PROTOTYPES.windows(2).all(|w| w[0].id < w[1].id));
        assert_eq!(PROTOTYPES.len(), IMPLEMENTED.len());
        for name in IMPLEMENTED {
            let id = HelperId::from_name(name).unwrap();
            let proto = prototype(id).unwrap_or_else(|| panic!("{name}"));
            assert_eq!((proto.id, proto.name()), (id, name));
            assert_eq!(id.prototype(), Some(proto));
        }
        assert_eq!(prototype(HelperId::UNSPEC), None);
        assert_eq!(prototype(HelperId::PROBE_READ), None);
        assert_eq!(prototype(HelperId(5000)), None);
    }

    #[test]
    fn prototypes_are_well_formed() {
        for proto in prototypes() {
            let name = proto.name();
            let args = proto.args;
            assert!(args.len() <= 5, "{name}");
            for (i, &arg) in args.iter().enumerate() {
                let prev = i.checked_sub(1).map(|p| args[p]);
                let next = args.get(i + 1).copied();
                match arg {
                    ArgKind::Mem { .. } | ArgKind::UninitMem => assert!(
                        matches!(next, Some(ArgKind::ConstSize | ArgKind::ConstSizeOrZero)),
                        "{name}: memory argument {i} without a size"
                    ),
                    ArgKind::ConstSize | ArgKind::ConstSizeOrZero => assert!(
                        matches!(prev, Some(ArgKind::Mem { .. } | ArgKind::UninitMem)),
                        "{name}: size argument {i} without memory"
                    ),
                    ArgKind::MapKey | ArgKind::MapValue | ArgKind::UninitMapValue => {
                        assert_eq!(args[0], ArgKind::ConstMapPtr, "{name}")
                    }
                    ArgKind::Callback => {
                        assert_eq!(next, Some(ArgKind::StackOrNull), "{name}")
                    }
                    ArgKind::ConstAllocSizeOrZero => {
                        assert_eq!(proto.ret, RetKind::AllocMemOrNull, "{name}")
                    }
                    _ => {}
                }
            }
            if proto.ret == RetKind::AllocMemOrNull {
                assert!(args.contains(&ArgKind::ConstAllocSizeOrZero), "{name}");
            }
            if proto.ret == RetKind::MapValueOrNull {
                assert_eq!(args[0], ArgKind::ConstMapPtr, "{name}");
            }
        }
    }

    #[test]
    fn selected_prototypes() {
        let p = |id| prototype(id).unwrap();
        assert_eq!(p(HelperId::MAP_LOOKUP_ELEM).ret, RetKind::MapValueOrNull);
        assert_eq!(
            p(HelperId::MAP_LOOKUP_ELEM).args,
            &[ArgKind::ConstMapPtr, ArgKind::MapKey]
        );
        assert_eq!(
            p(HelperId::MAP_UPDATE_ELEM).args,
            &[
                ArgKind::ConstMapPtr,
                ArgKind::MapKey,
                ArgKind::MapValue,
                ArgKind::Anything
            ]
        );
        assert_eq!(
            p(HelperId::MAP_POP_ELEM).args,
            &[ArgKind::ConstMapPtr, ArgKind::UninitMapValue]
        );
        assert!(p(HelperId::KTIME_GET_NS).args.is_empty());
        assert_eq!(p(HelperId::TAIL_CALL).ret, RetKind::Void);
        assert_eq!(
            p(HelperId::TAIL_CALL).args,
            &[ArgKind::Ctx, ArgKind::ConstMapPtr, ArgKind::Anything]
        );
        assert_eq!(p(HelperId::TRACE_PRINTK).args.len(), 2);
        assert_eq!(
            p(HelperId::RINGBUF_RESERVE).args,
            &[
                ArgKind::ConstMapPtr,
                ArgKind::ConstAllocSizeOrZero,
                ArgKind::Anything
            ]
        );
        assert_eq!(p(HelperId::RINGBUF_RESERVE).ret, RetKind::AllocMemOrNull);
        assert_eq!(p(HelperId::RINGBUF_SUBMIT).ret, RetKind::Void);
        assert_eq!(p(HelperId::RINGBUF_SUBMIT).args[0], ArgKind::AllocMem);
        assert_eq!(
            p(HelperId::PROBE_READ_KERNEL).args,
            &[
                ArgKind::UninitMem,
                ArgKind::ConstSizeOrZero,
                ArgKind::Anything
            ]
        );
        assert_eq!(
            p(HelperId::CSUM_DIFF).args[0],
            ArgKind::Mem {
                readonly: true,
                maybe_null: true
            }
        );
        assert_eq!(p(HelperId::LOOP).args[1], ArgKind::Callback);
        assert_eq!(p(HelperId::SPIN_LOCK).args, &[ArgKind::SpinLock]);
        assert_eq!(MAX_LOOPS, 8 * 1024 * 1024);
        assert_eq!(flags::CURRENT_CPU, 0xffff_ffff);
    }
}
