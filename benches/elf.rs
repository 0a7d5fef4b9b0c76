//! ELF loading: how long `Object::parse` (ELF, BTF, `.BTF.ext`, maps and
//! relocations, linking every program) and `Object::load` (creating the maps
//! and predecoding every program) take on a large object, per KiB of
//! object.
//!
//! The object is `tests/bpf/many_programs.o` (about 400 KiB: 128 XDP programs
//! with BTF and line information). The target: parse plus map
//! creation at no more than 0.5 µs per KiB: the `parse + maps + 1 program`
//! case (one program must be loaded; it is about 100 instructions). The
//! `128 programs` case also predecodes every program for the interpreter,
//! which is compiling rather than loading.

use bpfbox::elf::{LoadOptions, Object};
use criterion::{Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;

fn object_bytes() -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/bpf/many_programs.o");
    std::fs::read(path).expect("tests/bpf/many_programs.o")
}

fn bench(c: &mut Criterion) {
    let bytes = object_bytes();
    let object = Object::parse(&bytes).expect("the object parses");
    assert_eq!(object.programs().len(), 128);
    let first = object.programs()[0].name.clone();

    let mut group = c.benchmark_group("elf");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("parse", |b| {
        b.iter_with_large_drop(|| Object::parse(black_box(&bytes)).unwrap())
    });
    let one = LoadOptions {
        programs: Some(vec![first.clone()]),
        ..LoadOptions::default()
    };
    group.bench_function("parse + maps + 1 program", |b| {
        b.iter(|| {
            Object::parse(black_box(&bytes))
                .unwrap()
                .load(&one)
                .unwrap()
        })
    });
    let all = LoadOptions::default();
    group.bench_function("parse + maps + 128 programs", |b| {
        b.iter(|| {
            Object::parse(black_box(&bytes))
                .unwrap()
                .load(&all)
                .unwrap()
        })
    });
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
}
