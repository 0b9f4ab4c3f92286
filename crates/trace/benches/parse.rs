//! Parser throughput per format over a generated trace: 100 000 lines written by the crate's
//! writers (a mix like a busy system's: switches, wakeups, TLB flushes, forks/execs/exits,
//! one `sched_stat_runtime` line in ten to ignore), parsed from memory.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use lazymm_trace::{write, Event, EventKind, Format, Parser, TaskName, WakeKind};

const LINES: usize = 100_000;

fn task(i: usize) -> TaskName {
    const COMMS: [&str; 5] = [
        "bash",
        "my comm-x y",
        "kworker/1:1",
        "lto cgu.07",
        "a=b c-9 [1]",
    ];
    TaskName::new(COMMS[i % COMMS.len()], 1000 + (i % 977) as u32)
}

fn kind(i: usize) -> EventKind {
    match i % 10 {
        0..=3 => EventKind::switch(
            task(i),
            if i.is_multiple_of(3) { "R+" } else { "S" },
            task(i + 1),
        ),
        4 | 5 => EventKind::Wakeup {
            which: if i.is_multiple_of(2) {
                WakeKind::Waking
            } else {
                WakeKind::Wakeup
            },
            task: task(i + 2),
            prio: 120,
            target_cpu: (i % 64) as u32,
        },
        6 | 7 => EventKind::TlbFlush {
            reason: (i % 5) as u32,
            pages: if i.is_multiple_of(4) { -1 } else { 1 },
        },
        8 => EventKind::Fork {
            parent: task(i),
            child: task(i + 3),
        },
        _ => EventKind::Exec {
            filename: "/usr/bin/true".to_owned(),
            pid: 4242,
            old_pid: 4242,
        },
    }
}

/// `LINES` lines of `format`, one in ten a `sched_stat_runtime` line the parser ignores.
fn trace(format: Format) -> Vec<u8> {
    let mut out = String::with_capacity(LINES * 160);
    for i in 0..LINES {
        let ev = Event {
            line: 0,
            ts_ns: 20_000_000_000_000 + i as u64 * 1_234,
            cpu: (i % 64) as u32,
            current: task(i),
            tgid: Some(1000),
            kind: kind(i),
        };
        let line = write(format, &ev);
        if i % 10 == 9 {
            // Same header, another tracepoint.
            let cut = line
                .find(": sched_process_exec:")
                .or_else(|| line.find(": sched:sched_process_exec:"));
            let head = &line[..cut.expect("exec line")];
            let sys = if format == Format::PerfScript {
                "sched:"
            } else {
                ""
            };
            out.push_str(&format!(
                "{head}: {sys}sched_stat_runtime: comm=bash pid=1 runtime=3955490 [ns]"
            ));
        } else {
            out.push_str(&line);
        }
        out.push('\n');
    }
    out.into_bytes()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Elements(LINES as u64));
    g.sample_size(20);
    for format in Format::ALL {
        let data = trace(format);
        let events = Parser::new(&data[..], format, false)
            .collect::<Result<Vec<_>, _>>()
            .expect("generated lines parse")
            .len();
        assert_eq!(events, LINES - LINES / 10);
        g.bench_function(format.to_string(), |b| {
            b.iter_batched(
                || &data[..],
                |input| {
                    Parser::new(input, format, false)
                        .filter(Result::is_ok)
                        .count()
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
