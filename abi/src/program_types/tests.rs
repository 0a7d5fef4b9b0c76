use super::*;
use CtxAccessError as E;
use CtxOp::{Load, LoadSignExtend, Store};
use ProgramType::*;

#[test]
fn kernel_numbers() {
    let expected = [
        (SocketFilter, Some(1)),
        (Kprobe, Some(2)),
        (SchedCls, Some(3)),
        (SchedAct, Some(4)),
        (Tracepoint, Some(5)),
        (Xdp, Some(6)),
        (CgroupSkb, Some(8)),
        (RawTracepoint, Some(17)),
        (Buffer, None),
        (Conformance, None),
    ];
    assert_eq!(ProgramType::ALL.len(), expected.len());
    for (ty, raw) in expected {
        assert_eq!(ty.raw(), raw, "{ty}");
        if let Some(raw) = raw {
            assert_eq!(ProgramType::from_raw(raw), Some(ty));
        }
    }
    assert_eq!(ProgramType::from_raw(0), None);
    assert_eq!(ProgramType::from_raw(7), None);
}

#[test]
fn names() {
    let expected = [
        (SocketFilter, "socket", "socket_filter"),
        (Kprobe, "kprobe", "kprobe"),
        (SchedCls, "tc", "sched_cls"),
        (SchedAct, "tc_action", "sched_act"),
        (Tracepoint, "tracepoint", "tracepoint"),
        (Xdp, "xdp", "xdp"),
        (CgroupSkb, "cgroup_skb", "cgroup_skb"),
        (RawTracepoint, "raw_tracepoint", "raw_tracepoint"),
        (Buffer, "buffer", "buffer"),
        (Conformance, "conformance", "conformance"),
    ];
    for (ty, name, kernel) in expected {
        assert_eq!((ty.name(), ty.kernel_name()), (name, kernel));
        assert_eq!(ProgramType::from_name(name), Some(ty));
        assert_eq!(ProgramType::from_name(kernel), Some(ty));
        assert_eq!(ty.to_string(), name);
    }
    assert_eq!(ProgramType::from_name("perf_event"), None);
    assert_eq!(ProgramType::from_name("XDP"), None);
}

#[test]
fn context_sizes() {
    for ty in [SocketFilter, SchedCls, SchedAct, CgroupSkb] {
        assert_eq!(ty.context_size(), Some(192));
        assert_eq!(ty.context(), Context::Struct(&SK_BUFF));
    }
    assert_eq!(Xdp.context_size(), Some(24));
    assert_eq!(Kprobe.context_size(), Some(168));
    for ty in [Tracepoint, RawTracepoint, Buffer, Conformance] {
        assert_eq!(ty.context_size(), None);
    }
    assert_eq!(Tracepoint.context(), Context::Bytes(TRACEPOINT));
    assert_eq!(RawTracepoint.context(), Context::Bytes(RAW_TRACEPOINT));
    assert_eq!(Buffer.context(), Context::Bytes(BUFFER));
}

fn layout(s: &ContextStruct) -> Vec<(&'static str, u32, u32)> {
    s.fields
        .iter()
        .map(|f| (f.name, f.offset, f.size))
        .collect()
}

/// Offsets and sizes as `offsetof`/`sizeof` give them with the uapi header.
#[test]
fn sk_buff_layout() {
    #[rustfmt::skip]
    let expected = vec![
        ("len", 0, 4), ("pkt_type", 4, 4), ("mark", 8, 4), ("queue_mapping", 12, 4),
        ("protocol", 16, 4), ("vlan_present", 20, 4), ("vlan_tci", 24, 4),
        ("vlan_proto", 28, 4), ("priority", 32, 4), ("ingress_ifindex", 36, 4),
        ("ifindex", 40, 4), ("tc_index", 44, 4), ("cb", 48, 20), ("hash", 68, 4),
        ("tc_classid", 72, 4), ("data", 76, 4), ("data_end", 80, 4), ("napi_id", 84, 4),
        ("family", 88, 4), ("remote_ip4", 92, 4), ("local_ip4", 96, 4),
        ("remote_ip6", 100, 16), ("local_ip6", 116, 16), ("remote_port", 132, 4),
        ("local_port", 136, 4), ("data_meta", 140, 4), ("flow_keys", 144, 8),
        ("tstamp", 152, 8), ("wire_len", 160, 4), ("gso_segs", 164, 4), ("sk", 168, 8),
        ("gso_size", 176, 4), ("tstamp_type", 180, 1), ("hwtstamp", 184, 8),
    ];
    assert_eq!(layout(&SK_BUFF), expected);
    assert_eq!(SK_BUFF.size, 192);
}

#[test]
fn xdp_md_layout() {
    assert_eq!(
        layout(&XDP_MD),
        vec![
            ("data", 0, 4),
            ("data_end", 4, 4),
            ("data_meta", 8, 4),
            ("ingress_ifindex", 12, 4),
            ("rx_queue_index", 16, 4),
            ("egress_ifindex", 20, 4),
        ]
    );
    assert_eq!(XDP_MD.size, 24);
}

#[test]
fn pt_regs_layout() {
    let names = [
        "r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx",
        "rsi", "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss",
    ];
    let expected: Vec<_> = names
        .iter()
        .enumerate()
        .map(|(i, &name)| (name, i as u32 * 8, 8))
        .collect();
    assert_eq!(layout(&PT_REGS), expected);
    assert_eq!(PT_REGS.size, 168);
}

#[test]
fn tables_are_well_formed() {
    for s in [&SK_BUFF, &XDP_MD, &PT_REGS] {
        let mut end = 0;
        for f in s.fields {
            assert!(f.offset >= end, "{}.{} overlaps", s.name, f.name);
            assert!(f.size > 0 && f.end() <= s.size, "{}.{}", s.name, f.name);
            end = f.end();
            let a = f.access;
            assert_eq!(
                a.read.is_empty(),
                a.read_widths == Widths::NONE,
                "{}",
                f.name
            );
            assert_eq!(
                a.write.is_empty(),
                a.write_widths == Widths::NONE,
                "{}",
                f.name
            );
            for ty in a.write.iter() {
                assert!(a.read.contains(ty), "{}: written but not read", f.name);
            }
            if f.kind.is_pointer() {
                assert_eq!((f.size, a.read_widths), (4, Widths::W4), "{}", f.name);
                assert!(a.write.is_empty(), "{}", f.name);
            }
            assert_eq!(s.field(f.name), Some(f));
            assert_eq!(s.field_at(f.offset), Some(f));
            assert_eq!(s.field_at(f.end() - 1), Some(f));
        }
    }
    assert_eq!(SK_BUFF.field_at(181), None);
    assert_eq!(SK_BUFF.field_at(192), None);
    assert_eq!(SK_BUFF.field("nope"), None);
}

fn kind(ty: ProgramType, offset: i64, size: u32, op: CtxOp) -> FieldKind {
    match ty.check_ctx_access(offset, size, op) {
        Ok(access) => access.kind,
        Err(e) => panic!("{ty} {op:?} {size}@{offset}: {e}"),
    }
}

fn refused(ty: ProgramType, offset: i64, size: u32, op: CtxOp) -> CtxAccessError {
    ty.check_ctx_access(offset, size, op).unwrap_err()
}

#[test]
fn xdp_access() {
    assert_eq!(kind(Xdp, 0, 4, Load), FieldKind::PacketStart);
    assert_eq!(kind(Xdp, 4, 4, Load), FieldKind::PacketEnd);
    assert_eq!(kind(Xdp, 8, 4, Load), FieldKind::PacketMeta);
    for offset in [12, 16, 20] {
        assert_eq!(kind(Xdp, offset, 4, Load), FieldKind::Scalar);
        assert_eq!(kind(Xdp, offset, 4, LoadSignExtend), FieldKind::Scalar);
    }
    assert_eq!(
        refused(Xdp, 0, 4, LoadSignExtend),
        E::SignExtendPointer("data")
    );
    assert_eq!(
        refused(Xdp, 12, 2, Load),
        E::BadWidth {
            field: "ingress_ifindex",
            size: 2
        }
    );
    assert_eq!(refused(Xdp, 0, 8, Load), E::CrossesField("data"));
    assert_eq!(refused(Xdp, 16, 4, Store), E::NotWritable("rx_queue_index"));
    assert_eq!(refused(Xdp, 24, 4, Load), E::OutOfBounds);
    assert_eq!(refused(Xdp, -4, 4, Load), E::OutOfBounds);
    assert_eq!(refused(Xdp, 2, 4, Load), E::Misaligned);
    assert_eq!(refused(Xdp, 0, 3, Load), E::BadSize);
    let access = Xdp.check_ctx_access(16, 4, Load).unwrap();
    assert_eq!(access.field.unwrap().name, "rx_queue_index");
    assert_eq!(access.offset_in_field, 0);
}

#[test]
fn socket_filter_access() {
    assert_eq!(kind(SocketFilter, 0, 4, Load), FieldKind::Scalar);
    assert_eq!(kind(SocketFilter, 1, 1, Load), FieldKind::Scalar);
    assert_eq!(kind(SocketFilter, 18, 2, Load), FieldKind::Scalar);
    let narrow = SocketFilter.check_ctx_access(18, 2, Load).unwrap();
    assert_eq!(
        (narrow.field.unwrap().name, narrow.offset_in_field),
        ("protocol", 2)
    );
    for (offset, name) in [
        (76, "data"),
        (80, "data_end"),
        (140, "data_meta"),
        (72, "tc_classid"),
        (88, "family"),
        (92, "remote_ip4"),
        (160, "wire_len"),
        (180, "tstamp_type"),
    ] {
        let size = if name == "tstamp_type" { 1 } else { 4 };
        assert_eq!(
            refused(SocketFilter, offset, size, Load),
            E::NotReadable(name)
        );
    }
    for (offset, name) in [
        (152, "tstamp"),
        (184, "hwtstamp"),
        (168, "sk"),
        (144, "flow_keys"),
    ] {
        assert_eq!(refused(SocketFilter, offset, 8, Load), E::NotReadable(name));
    }
    assert_eq!(refused(SocketFilter, 8, 4, Store), E::NotWritable("mark"));
    assert_eq!(kind(SocketFilter, 52, 4, Store), FieldKind::Scalar);
    assert_eq!(kind(SocketFilter, 48, 8, Load), FieldKind::Scalar);
    assert_eq!(kind(SocketFilter, 56, 8, Store), FieldKind::Scalar);
    assert_eq!(kind(SocketFilter, 67, 1, Store), FieldKind::Scalar);
    assert_eq!(refused(SocketFilter, 64, 8, Load), E::CrossesField("cb"));
    assert_eq!(refused(SocketFilter, 8, 8, Load), E::CrossesField("mark"));
    assert_eq!(
        E::NotReadable("data").to_string(),
        "field `data` is not readable by this program type"
    );
}

#[test]
fn tc_access() {
    for ty in [SchedCls, SchedAct] {
        assert_eq!(kind(ty, 76, 4, Load), FieldKind::PacketStart);
        assert_eq!(kind(ty, 80, 4, Load), FieldKind::PacketEnd);
        assert_eq!(kind(ty, 140, 4, Load), FieldKind::PacketMeta);
        assert_eq!(
            refused(ty, 76, 2, Load),
            E::BadWidth {
                field: "data",
                size: 2
            }
        );
        assert_eq!(refused(ty, 76, 4, Store), E::NotWritable("data"));
        for offset in [8, 12, 32, 44, 72] {
            assert_eq!(kind(ty, offset, 4, Store), FieldKind::Scalar, "{offset}");
            assert_eq!(
                refused(ty, offset, 2, Store),
                E::BadWidth {
                    field: SK_BUFF.field_at(offset as u32).unwrap().name,
                    size: 2
                }
            );
        }
        assert_eq!(refused(ty, 0, 4, Store), E::NotWritable("len"));
        assert_eq!(kind(ty, 152, 8, Load), FieldKind::Scalar);
        assert_eq!(kind(ty, 152, 8, Store), FieldKind::Scalar);
        assert_eq!(
            refused(ty, 152, 4, Load),
            E::BadWidth {
                field: "tstamp",
                size: 4
            }
        );
        assert_eq!(kind(ty, 180, 1, Load), FieldKind::Scalar);
        assert_eq!(refused(ty, 180, 2, Load), E::CrossesField("tstamp_type"));
        assert_eq!(refused(ty, 180, 1, Store), E::NotWritable("tstamp_type"));
        assert_eq!(refused(ty, 181, 1, Load), E::Padding);
        assert_eq!(kind(ty, 184, 8, Load), FieldKind::Scalar);
        assert_eq!(refused(ty, 184, 8, Store), E::NotWritable("hwtstamp"));
        assert_eq!(refused(ty, 88, 4, Load), E::NotReadable("family"));
        assert_eq!(kind(ty, 160, 4, Load), FieldKind::Scalar);
        assert_eq!(refused(ty, 192, 1, Load), E::OutOfBounds);
        assert_eq!(refused(ty, i64::MAX, 1, Load), E::OutOfBounds);
        assert_eq!(refused(ty, 168, 8, Load), E::NotReadable("sk"));
    }
}

#[test]
fn cgroup_skb_access() {
    assert_eq!(kind(CgroupSkb, 76, 4, Load), FieldKind::PacketStart);
    assert_eq!(kind(CgroupSkb, 80, 4, Load), FieldKind::PacketEnd);
    assert_eq!(
        refused(CgroupSkb, 140, 4, Load),
        E::NotReadable("data_meta")
    );
    assert_eq!(
        refused(CgroupSkb, 72, 4, Load),
        E::NotReadable("tc_classid")
    );
    assert_eq!(refused(CgroupSkb, 160, 4, Load), E::NotReadable("wire_len"));
    assert_eq!(kind(CgroupSkb, 88, 2, Load), FieldKind::Scalar);
    assert_eq!(kind(CgroupSkb, 104, 4, Load), FieldKind::Scalar);
    assert_eq!(
        refused(CgroupSkb, 104, 2, Load),
        E::BadWidth {
            field: "remote_ip6",
            size: 2
        }
    );
    assert_eq!(
        refused(CgroupSkb, 120, 8, Load),
        E::BadWidth {
            field: "local_ip6",
            size: 8
        }
    );
    assert_eq!(kind(CgroupSkb, 8, 4, Store), FieldKind::Scalar);
    assert_eq!(kind(CgroupSkb, 32, 4, Store), FieldKind::Scalar);
    assert_eq!(kind(CgroupSkb, 152, 8, Store), FieldKind::Scalar);
    assert_eq!(refused(CgroupSkb, 44, 4, Store), E::NotWritable("tc_index"));
    assert_eq!(
        refused(CgroupSkb, 12, 4, Store),
        E::NotWritable("queue_mapping")
    );
    assert_eq!(
        refused(CgroupSkb, 180, 1, Load),
        E::NotReadable("tstamp_type")
    );
}

#[test]
fn tracing_access() {
    assert_eq!(kind(Kprobe, 80, 8, Load), FieldKind::Scalar);
    assert_eq!(kind(Kprobe, 84, 4, Load), FieldKind::Scalar);
    assert_eq!(kind(Kprobe, 113, 1, LoadSignExtend), FieldKind::Scalar);
    assert_eq!(refused(Kprobe, 4, 8, Load), E::Misaligned);
    assert_eq!(refused(Kprobe, 80, 8, Store), E::NotWritable("rax"));
    assert_eq!(refused(Kprobe, 168, 1, Load), E::OutOfBounds);

    assert_eq!(kind(Tracepoint, 8, 4, Load), FieldKind::Scalar);
    assert_eq!(kind(Tracepoint, 8184, 8, Load), FieldKind::Scalar);
    assert_eq!(refused(Tracepoint, 0, 4, Load), E::OutOfBounds);
    assert_eq!(refused(Tracepoint, 4, 4, Load), E::OutOfBounds);
    assert_eq!(refused(Tracepoint, 8192, 1, Load), E::OutOfBounds);
    assert_eq!(refused(Tracepoint, 10, 4, Load), E::Misaligned);
    assert_eq!(refused(Tracepoint, 8, 4, Store), E::NotWritable("context"));
    let access = Tracepoint.check_ctx_access(16, 8, Load).unwrap();
    assert_eq!((access.field, access.offset_in_field), (None, 16));

    assert_eq!(kind(RawTracepoint, 0, 8, Load), FieldKind::Scalar);
    assert_eq!(kind(RawTracepoint, 88, 8, Load), FieldKind::Scalar);
    assert_eq!(refused(RawTracepoint, 96, 8, Load), E::OutOfBounds);
    assert_eq!(
        refused(RawTracepoint, 0, 8, Store),
        E::NotWritable("context")
    );
}

#[test]
fn buffer_access() {
    for ty in [Buffer, Conformance] {
        assert_eq!(kind(ty, 3, 8, Store), FieldKind::Scalar);
        assert_eq!(kind(ty, 1 << 31, 8, LoadSignExtend), FieldKind::Scalar);
        assert_eq!(refused(ty, 1 << 40, 8, Load), E::OutOfBounds);
        assert_eq!(refused(ty, -1, 1, Load), E::OutOfBounds);
        assert_eq!(refused(ty, 0, 16, Load), E::BadSize);
    }
}

#[test]
fn packet_access() {
    for ty in [SchedCls, SchedAct, Xdp] {
        assert_eq!(ty.packet_access(), PacketAccess::ReadWrite);
    }
    assert_eq!(CgroupSkb.packet_access(), PacketAccess::Read);
    for ty in [
        SocketFilter,
        Kprobe,
        Tracepoint,
        RawTracepoint,
        Buffer,
        Conformance,
    ] {
        assert_eq!(ty.packet_access(), PacketAccess::None);
    }
}

#[test]
fn helper_table_matches_prototypes() {
    assert!(HELPERS.windows(2).all(|w| w[0].0 < w[1].0));
    let with_prototype: Vec<HelperId> = crate::helpers::prototypes().iter().map(|p| p.id).collect();
    let in_table: Vec<HelperId> = HELPERS.iter().map(|&(id, _)| id).collect();
    assert_eq!(in_table, with_prototype);
    for &(id, types) in HELPERS {
        assert!(!types.is_empty(), "{id}");
    }
}

#[test]
fn allowed_helpers_per_type() {
    let base = [
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
        "tail_call",
        "trace_printk",
        "trace_vprintk",
        "ringbuf_output",
        "ringbuf_reserve",
        "ringbuf_submit",
        "ringbuf_discard",
        "ringbuf_query",
        "loop",
        "for_each_map_elem",
        "spin_lock",
        "spin_unlock",
    ];
    let extra = |ty: ProgramType| -> &'static [&'static str] {
        match ty {
            Kprobe | Tracepoint | RawTracepoint => &[
                "perf_event_output",
                "get_current_pid_tgid",
                "get_current_comm",
                "probe_read_kernel",
                "probe_read_user",
                "probe_read_kernel_str",
                "probe_read_user_str",
            ],
            Xdp => &[
                "perf_event_output",
                "xdp_adjust_head",
                "xdp_adjust_meta",
                "xdp_adjust_tail",
                "redirect",
                "redirect_map",
                "csum_diff",
            ],
            SchedCls | SchedAct => &[
                "perf_event_output",
                "skb_load_bytes",
                "skb_store_bytes",
                "l3_csum_replace",
                "l4_csum_replace",
                "redirect",
                "csum_diff",
            ],
            SocketFilter | CgroupSkb => &["perf_event_output", "skb_load_bytes"],
            Buffer | Conformance => &[
                "perf_event_output",
                "get_current_pid_tgid",
                "get_current_comm",
                "probe_read_kernel",
                "probe_read_user",
                "probe_read_kernel_str",
                "probe_read_user_str",
                "csum_diff",
            ],
        }
    };
    for &ty in ProgramType::ALL {
        let mut expected: Vec<HelperId> = base
            .iter()
            .chain(extra(ty))
            .map(|name| HelperId::from_name(name).unwrap())
            .collect();
        expected.sort();
        let allowed: Vec<HelperId> = allowed_helpers(ty).collect();
        assert_eq!(allowed, expected, "{ty}");
        for id in HelperId::all() {
            assert_eq!(ty.allows_helper(id), expected.contains(&id), "{ty} {id}");
        }
        assert!(!ty.allows_helper(HelperId(100_000)));
    }
}

#[test]
fn return_codes() {
    assert_eq!(CgroupSkb.return_range(), Some((0, 3)));
    for &ty in ProgramType::ALL {
        if ty != CgroupSkb {
            assert_eq!(ty.return_range(), None, "{ty}");
        }
    }

    let xdp = [
        (XdpAction::Aborted, 0),
        (XdpAction::Drop, 1),
        (XdpAction::Pass, 2),
        (XdpAction::Tx, 3),
        (XdpAction::Redirect, 4),
    ];
    for (action, raw) in xdp {
        assert_eq!(action.raw(), raw);
        assert_eq!(XdpAction::from_raw(raw), Some(action));
        assert_eq!(XdpAction::from_r0(u64::from(raw) | 1 << 32), action);
    }
    assert_eq!(XdpAction::from_raw(5), None);
    assert_eq!(XdpAction::from_r0(5), XdpAction::Aborted);

    let tc = [
        (TcAction::Unspec, -1),
        (TcAction::Ok, 0),
        (TcAction::Reclassify, 1),
        (TcAction::Shot, 2),
        (TcAction::Pipe, 3),
        (TcAction::Stolen, 4),
        (TcAction::Queued, 5),
        (TcAction::Repeat, 6),
        (TcAction::Redirect, 7),
        (TcAction::Trap, 8),
    ];
    assert_eq!(TcAction::ALL.len(), tc.len());
    for (action, raw) in tc {
        assert_eq!(action.raw(), raw);
        assert_eq!(TcAction::from_raw(raw), Some(action));
    }
    assert_eq!(TcAction::from_raw(9), None);
    assert_eq!(TcAction::from_r0(0xffff_ffff), TcAction::Unspec);
    assert_eq!(TcAction::from_r0(u64::MAX), TcAction::Unspec);
    assert_eq!(TcAction::from_r0(2), TcAction::Shot);
    assert_eq!(TcAction::from_r0(7), TcAction::Redirect);
    assert_eq!(TcAction::from_r0(3), TcAction::Unspec);
    assert_eq!(TcAction::from_r0(1 << 32), TcAction::Ok);

    for raw in 0..4 {
        let verdict = CgroupSkbVerdict::from_raw(raw).unwrap();
        assert_eq!(u64::from(verdict.raw()), raw);
        assert_eq!(verdict.allows(), raw & 1 == 1);
    }
    assert_eq!(CgroupSkbVerdict::from_raw(4), None);

    assert_eq!(socket_filter_keep(0, 100), 0);
    assert_eq!(socket_filter_keep(60, 100), 60);
    assert_eq!(socket_filter_keep(u64::from(u32::MAX), 100), 100);
    assert_eq!(socket_filter_keep(1 << 32, 100), 0);
}

#[test]
fn program_type_sets() {
    let set = ProgramTypes::of(&[Xdp, Kprobe]);
    assert!(set.contains(Xdp) && set.contains(Kprobe) && !set.contains(SchedCls));
    assert_eq!(set.iter().collect::<Vec<_>>(), vec![Kprobe, Xdp]);
    assert_eq!(format!("{set:?}"), "{Kprobe, Xdp}");
    assert!(ProgramTypes::NONE.is_empty());
    assert_eq!(ProgramTypes::ALL.iter().count(), ProgramType::ALL.len());
    assert_eq!(set.union(ProgramTypes::of(&[Buffer])).iter().count(), 3);
}
