//! Program types from section names, with libbpf's conventions
//! (`SEC("xdp")`, `SEC("kprobe/do_unlinkat")`, ...) and the older names
//! found in samples and tutorials (`xdp_prog`, `socket1`, `classifier/x`).

use bpfbox_abi::ProgramType;

/// What a program's section says about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SectionKind {
    /// The type bpfbox runs it as, when it runs that kind.
    pub program_type: Option<ProgramType>,
    /// The kernel's name for the section's program type (`xdp`,
    /// `sched_cls`, `lsm`, ...), also for types bpfbox does not run.
    pub kernel_type: &'static str,
    /// What it attaches to: the part after the prefix
    /// (`do_unlinkat` for `kprobe/do_unlinkat`), if any.
    pub attach_to: Option<String>,
}

/// A prefix rule: the section is `prefix` exactly, or `prefix/...`, or
/// (for the legacy names) `prefix` followed by anything.
struct Rule {
    prefix: &'static str,
    program_type: Option<ProgramType>,
    kernel_type: &'static str,
    /// Whether `prefix` followed directly by other characters counts
    /// (`xdp1`, `socket_udp`): older loaders matched bare prefixes.
    loose: bool,
}

const fn rule(
    prefix: &'static str,
    program_type: Option<ProgramType>,
    kernel_type: &'static str,
    loose: bool,
) -> Rule {
    Rule {
        prefix,
        program_type,
        kernel_type,
        loose,
    }
}

use ProgramType as T;

/// Longest prefixes first where one extends another.
static RULES: &[Rule] = &[
    rule("xdp.frags", Some(T::Xdp), "xdp", false),
    rule("xdp", Some(T::Xdp), "xdp", true),
    rule("socket", Some(T::SocketFilter), "socket_filter", true),
    rule("tcx", Some(T::SchedCls), "sched_cls", false),
    rule("tc", Some(T::SchedCls), "sched_cls", false),
    rule("classifier", Some(T::SchedCls), "sched_cls", true),
    rule("action", Some(T::SchedAct), "sched_act", true),
    rule("cgroup_skb", Some(T::CgroupSkb), "cgroup_skb", false),
    rule("cgroup/skb", Some(T::CgroupSkb), "cgroup_skb", false),
    rule("kprobe.multi", Some(T::Kprobe), "kprobe", false),
    rule("kretprobe.multi", Some(T::Kprobe), "kprobe", false),
    rule("kprobe", Some(T::Kprobe), "kprobe", false),
    rule("kretprobe", Some(T::Kprobe), "kprobe", false),
    rule("uprobe", Some(T::Kprobe), "kprobe", false),
    rule("uretprobe", Some(T::Kprobe), "kprobe", false),
    rule("ksyscall", Some(T::Kprobe), "kprobe", false),
    rule("kretsyscall", Some(T::Kprobe), "kprobe", false),
    rule("usdt", Some(T::Kprobe), "kprobe", false),
    rule("tracepoint", Some(T::Tracepoint), "tracepoint", false),
    rule("tp", Some(T::Tracepoint), "tracepoint", false),
    rule(
        "raw_tracepoint.w",
        Some(T::RawTracepoint),
        "raw_tracepoint_writable",
        false,
    ),
    rule(
        "raw_tracepoint",
        Some(T::RawTracepoint),
        "raw_tracepoint",
        false,
    ),
    rule(
        "raw_tp.w",
        Some(T::RawTracepoint),
        "raw_tracepoint_writable",
        false,
    ),
    rule("raw_tp", Some(T::RawTracepoint), "raw_tracepoint", false),
    // BTF-enabled tracing programs see their arguments as an array of u64,
    // as raw tracepoints do; bpfbox runs them as raw tracepoints.
    rule("tp_btf", Some(T::RawTracepoint), "tracing", false),
    rule("fentry", Some(T::RawTracepoint), "tracing", false),
    rule("fexit", Some(T::RawTracepoint), "tracing", false),
    rule("fmod_ret", None, "tracing", false),
    rule("iter", None, "tracing", false),
    rule("lsm", None, "lsm", false),
    rule("perf_event", None, "perf_event", false),
    rule("struct_ops", None, "struct_ops", false),
    rule("sk_skb", None, "sk_skb", false),
    rule("sk_msg", None, "sk_msg", false),
    rule("sk_lookup", None, "sk_lookup", false),
    rule("sk_reuseport", None, "sk_reuseport", false),
    rule("sockops", None, "sock_ops", false),
    rule("flow_dissector", None, "flow_dissector", false),
    rule("lwt_in", None, "lwt_in", false),
    rule("lwt_out", None, "lwt_out", false),
    rule("lwt_xmit", None, "lwt_xmit", false),
    rule("lwt_seg6local", None, "lwt_seg6local", false),
    rule("cgroup", None, "cgroup", false),
    rule("syscall", None, "syscall", false),
    rule("netfilter", None, "netfilter", false),
];

/// Reads the program type from a section name.
pub fn section_kind(section: &str) -> SectionKind {
    for rule in RULES {
        let Some(rest) = section.strip_prefix(rule.prefix) else {
            continue;
        };
        let attach_to = if rest.is_empty() {
            None
        } else if let Some(target) = rest.strip_prefix('/') {
            (!target.is_empty()).then(|| target.to_owned())
        } else if rule.loose {
            None
        } else {
            continue;
        };
        return SectionKind {
            program_type: rule.program_type,
            kernel_type: rule.kernel_type,
            attach_to,
        };
    }
    SectionKind {
        program_type: None,
        kernel_type: "unknown",
        attach_to: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(section: &str) -> Option<ProgramType> {
        section_kind(section).program_type
    }

    #[test]
    fn libbpf_names() {
        assert_eq!(ty("xdp"), Some(T::Xdp));
        assert_eq!(ty("xdp.frags"), Some(T::Xdp));
        assert_eq!(ty("socket"), Some(T::SocketFilter));
        assert_eq!(ty("tc"), Some(T::SchedCls));
        assert_eq!(ty("tc/ingress"), Some(T::SchedCls));
        assert_eq!(ty("tcx/egress"), Some(T::SchedCls));
        assert_eq!(ty("classifier"), Some(T::SchedCls));
        assert_eq!(ty("action"), Some(T::SchedAct));
        assert_eq!(ty("cgroup_skb/ingress"), Some(T::CgroupSkb));
        assert_eq!(ty("cgroup/skb"), Some(T::CgroupSkb));
        assert_eq!(ty("tp/sched/sched_process_exec"), Some(T::Tracepoint));
        assert_eq!(ty("raw_tp/sys_enter"), Some(T::RawTracepoint));
        assert_eq!(ty("raw_tracepoint/sys_enter"), Some(T::RawTracepoint));
        let kprobe = section_kind("kprobe/do_unlinkat");
        assert_eq!(kprobe.program_type, Some(T::Kprobe));
        assert_eq!(kprobe.attach_to.as_deref(), Some("do_unlinkat"));
        assert_eq!(ty("kretprobe/do_unlinkat"), Some(T::Kprobe));
    }

    #[test]
    fn older_names() {
        assert_eq!(ty("xdp1"), Some(T::Xdp));
        assert_eq!(ty("xdp_prog"), Some(T::Xdp));
        assert_eq!(ty("socket1"), Some(T::SocketFilter));
        assert_eq!(ty("classifier/ingress"), Some(T::SchedCls));
    }

    #[test]
    fn kernel_types_bpfbox_does_not_run() {
        let lsm = section_kind("lsm/file_open");
        assert_eq!(lsm.program_type, None);
        assert_eq!(lsm.kernel_type, "lsm");
        let fentry = section_kind("fentry/do_unlinkat");
        assert_eq!(
            (fentry.program_type, fentry.kernel_type),
            (Some(T::RawTracepoint), "tracing")
        );
        assert_eq!(section_kind("tcp_stuff").program_type, None);
        assert_eq!(section_kind(".text").kernel_type, "unknown");
        // `tp_btf` is not `tp`.
        let tp_btf = section_kind("tp_btf/sched_switch");
        assert_eq!(
            (tp_btf.program_type, tp_btf.kernel_type),
            (Some(T::RawTracepoint), "tracing")
        );
    }
}
