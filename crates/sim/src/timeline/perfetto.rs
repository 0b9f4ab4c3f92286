//! The Perfetto encoder: native protobuf `TracePacket`s with `TrackDescriptor`s and
//! `TrackEvent`s, the few fields a timeline needs, hand-written for `prost` with the field
//! numbers of perfetto's `protos/perfetto/trace/` (`trace_packet.proto`,
//! `track_event/track_event.proto`, `track_descriptor.proto`, `debug_annotation.proto`,
//! `interned_data.proto`). The same structs decode a trace (the tests read their own
//! output back).
//!
//! ```text
//!  packet 1          interned names and categories (sequence 1, incremental state cleared)
//!  packet 2          process track "lazymm sim: …" (its description says if truncated)
//!  packets           one track per CPU ("cpu 007", ordered by number), "events", and the
//!                    counter track "mms pending free"
//!  packets           the events sorted by (time, sequence), slices clamped at the cut
//! ```
//! Timestamps are virtual nanoseconds, rounded.

use super::{Arg, Ev, Kind, Timeline, TRACK_EVENTS, TRACK_PENDING};
use prost::Message;
use std::collections::HashSet;

/// `perfetto.protos.Trace`.
#[derive(Clone, PartialEq, Message)]
pub struct Trace {
    /// Packets.
    #[prost(message, repeated, tag = "1")]
    pub packet: Vec<TracePacket>,
}

/// `perfetto.protos.TracePacket` (the fields used here).
#[derive(Clone, PartialEq, Message)]
pub struct TracePacket {
    /// Time (ns).
    #[prost(uint64, optional, tag = "8")]
    pub timestamp: Option<u64>,
    /// The writer's sequence.
    #[prost(uint32, optional, tag = "10")]
    pub trusted_packet_sequence_id: Option<u32>,
    /// A track event.
    #[prost(message, optional, tag = "11")]
    pub track_event: Option<TrackEvent>,
    /// Interned strings.
    #[prost(message, optional, tag = "12")]
    pub interned_data: Option<InternedData>,
    /// 1: incremental state cleared; 2: needs incremental state.
    #[prost(uint32, optional, tag = "13")]
    pub sequence_flags: Option<u32>,
    /// A track.
    #[prost(message, optional, tag = "60")]
    pub track_descriptor: Option<TrackDescriptor>,
}

/// `perfetto.protos.TrackDescriptor`.
#[derive(Clone, PartialEq, Message)]
pub struct TrackDescriptor {
    /// Track id.
    #[prost(uint64, optional, tag = "1")]
    pub uuid: Option<u64>,
    /// Name.
    #[prost(string, optional, tag = "2")]
    pub name: Option<String>,
    /// The process it describes.
    #[prost(message, optional, tag = "3")]
    pub process: Option<ProcessDescriptor>,
    /// Parent track.
    #[prost(uint64, optional, tag = "5")]
    pub parent_uuid: Option<u64>,
    /// Present on counter tracks.
    #[prost(message, optional, tag = "8")]
    pub counter: Option<CounterDescriptor>,
    /// Order of children: 3 explicit (by `sibling_order_rank`).
    #[prost(int32, optional, tag = "11")]
    pub child_ordering: Option<i32>,
    /// Rank among siblings.
    #[prost(int32, optional, tag = "12")]
    pub sibling_order_rank: Option<i32>,
    /// Description.
    #[prost(string, optional, tag = "14")]
    pub description: Option<String>,
}

/// `perfetto.protos.ProcessDescriptor`.
#[derive(Clone, PartialEq, Message)]
pub struct ProcessDescriptor {
    /// pid.
    #[prost(int32, optional, tag = "1")]
    pub pid: Option<i32>,
    /// Name.
    #[prost(string, optional, tag = "6")]
    pub process_name: Option<String>,
}

/// `perfetto.protos.CounterDescriptor` (no field needed).
#[derive(Clone, PartialEq, Message)]
pub struct CounterDescriptor {}

/// `perfetto.protos.TrackEvent`.
#[derive(Clone, PartialEq, Message)]
pub struct TrackEvent {
    /// Interned categories.
    #[prost(uint64, repeated, packed = "false", tag = "3")]
    pub category_iids: Vec<u64>,
    /// Arguments.
    #[prost(message, repeated, tag = "4")]
    pub debug_annotations: Vec<DebugAnnotation>,
    /// 1 slice begin, 2 slice end, 3 instant, 4 counter.
    #[prost(int32, optional, tag = "9")]
    pub r#type: Option<i32>,
    /// Interned name.
    #[prost(uint64, optional, tag = "10")]
    pub name_iid: Option<u64>,
    /// Track.
    #[prost(uint64, optional, tag = "11")]
    pub track_uuid: Option<u64>,
    /// Counter value.
    #[prost(int64, optional, tag = "30")]
    pub counter_value: Option<i64>,
    /// Flows leaving (or passing) here.
    #[prost(fixed64, repeated, packed = "false", tag = "47")]
    pub flow_ids: Vec<u64>,
    /// Flows ending here.
    #[prost(fixed64, repeated, packed = "false", tag = "48")]
    pub terminating_flow_ids: Vec<u64>,
}

/// `perfetto.protos.DebugAnnotation` (name and an unsigned or string value).
#[derive(Clone, PartialEq, Message)]
pub struct DebugAnnotation {
    /// Unsigned value.
    #[prost(uint64, optional, tag = "3")]
    pub uint_value: Option<u64>,
    /// String value.
    #[prost(string, optional, tag = "6")]
    pub string_value: Option<String>,
    /// Name.
    #[prost(string, optional, tag = "10")]
    pub name: Option<String>,
}

/// `perfetto.protos.InternedData`.
#[derive(Clone, PartialEq, Message)]
pub struct InternedData {
    /// Categories.
    #[prost(message, repeated, tag = "1")]
    pub event_categories: Vec<InternedString>,
    /// Event names.
    #[prost(message, repeated, tag = "2")]
    pub event_names: Vec<InternedString>,
}

/// `EventName` / `EventCategory`: an id and its string.
#[derive(Clone, PartialEq, Message)]
pub struct InternedString {
    /// Id.
    #[prost(uint64, optional, tag = "1")]
    pub iid: Option<u64>,
    /// String.
    #[prost(string, optional, tag = "2")]
    pub name: Option<String>,
}

/// Track uuids: the machine (process) track, the events and counter tracks, CPU `n`.
pub const UUID_MACHINE: u64 = 1;
/// The "events" track.
pub const UUID_EVENTS: u64 = 2;
/// The "mms pending free" counter track.
pub const UUID_PENDING: u64 = 3;
/// CPU `n`'s track is `UUID_CPU0 + n`.
pub const UUID_CPU0: u64 = 100;

const SEQ: u32 = 1;

fn uuid(track: u32) -> u64 {
    match track {
        TRACK_EVENTS => UUID_EVENTS,
        TRACK_PENDING => UUID_PENDING,
        cpu => UUID_CPU0 + cpu as u64,
    }
}

fn put(buf: &mut Vec<u8>, p: &TracePacket) {
    prost::encoding::message::encode(1, p, buf);
}

fn track(uuid: u64, name: String, rank: i32) -> TrackDescriptor {
    TrackDescriptor {
        uuid: Some(uuid),
        name: Some(name),
        parent_uuid: Some(UUID_MACHINE),
        sibling_order_rank: Some(rank),
        ..Default::default()
    }
}

/// The events in trace order, with what lies past the cut removed: begins (and their
/// ends) and instants at or after it dropped, ends clamped to it, flows whose other end
/// is gone dropped.
fn normalise(tl: &Timeline) -> Vec<Ev> {
    let cut = tl.truncated_at_ns().unwrap_or(f64::INFINITY);
    let mut evs: Vec<Ev> = tl.evs.clone();
    evs.sort_by(|a, b| a.ts.total_cmp(&b.ts).then(a.seq.cmp(&b.seq)));
    let mut stacks: std::collections::HashMap<u32, Vec<bool>> = Default::default();
    let mut out = Vec::with_capacity(evs.len());
    for mut e in evs {
        let st = stacks.entry(e.track).or_default();
        match e.kind {
            Kind::Begin => {
                st.push(e.ts < cut);
                if e.ts < cut {
                    out.push(e);
                }
            }
            Kind::End => {
                let kept = st.pop() == Some(true);
                if kept {
                    e.ts = e.ts.min(cut);
                    out.push(e);
                }
            }
            // The truncation marker sits at the cut.
            _ if e.ts < cut || (e.track == TRACK_EVENTS && e.ts <= cut) => out.push(e),
            _ => {}
        }
    }
    // Flows need both ends.
    let starts: HashSet<u64> = out.iter().map(|e| e.flow).filter(|&f| f != 0).collect();
    let ends: HashSet<u64> = out
        .iter()
        .filter_map(|e| e.extra.as_ref())
        .flat_map(|x| x.ends.iter().copied())
        .collect();
    for e in &mut out {
        if e.flow != 0 && !ends.contains(&e.flow) {
            e.flow = 0;
        }
        if let Some(x) = &mut e.extra {
            x.ends.retain(|f| starts.contains(f));
        }
    }
    // Still in order: clamped ends come after every kept event, innermost first.
    out
}

/// Encodes a timeline as a Perfetto trace.
pub fn encode(tl: &Timeline) -> Vec<u8> {
    let evs = normalise(tl);
    let mut buf = Vec::with_capacity(evs.len() * 24 + 4096);
    let strings = |ids: &mut dyn Iterator<Item = u32>| -> Vec<InternedString> {
        ids.map(|i| InternedString {
            iid: Some(i as u64),
            name: Some(tl.names[i as usize].clone()),
        })
        .collect()
    };
    let used = |f: &dyn Fn(&Ev) -> u32| -> Vec<u32> {
        let mut v: Vec<u32> = evs.iter().map(f).filter(|&i| i != 0).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    put(
        &mut buf,
        &TracePacket {
            trusted_packet_sequence_id: Some(SEQ),
            sequence_flags: Some(1),
            interned_data: Some(InternedData {
                event_categories: strings(&mut used(&|e| e.cat).into_iter()),
                event_names: strings(&mut used(&|e| e.name).into_iter()),
            }),
            ..Default::default()
        },
    );
    let mut desc = format!("{}; virtual time in ns; {} events", tl.title, evs.len());
    if let Some(c) = tl.truncated_at_ns() {
        desc += &format!(
            "; TRUNCATED at {:.3} us (limit {} events): the run went on to {:.3} us",
            c / 1e3,
            tl.limit,
            tl.end_ns / 1e3
        );
    }
    let mut tracks = vec![TrackDescriptor {
        uuid: Some(UUID_MACHINE),
        process: Some(ProcessDescriptor {
            pid: Some(1),
            process_name: Some(format!("lazymm sim: {}", tl.title)),
        }),
        child_ordering: Some(3),
        description: Some(desc),
        ..Default::default()
    }];
    tracks.push(track(UUID_EVENTS, "events".into(), -2));
    let mut pending = track(UUID_PENDING, "mms pending free".into(), -1);
    pending.counter = Some(CounterDescriptor {});
    tracks.push(pending);
    let width = tl.ncpus.saturating_sub(1).to_string().len();
    for cpu in 0..tl.ncpus {
        let name = format!("cpu {cpu:0width$}");
        tracks.push(track(UUID_CPU0 + cpu as u64, name, cpu as i32));
    }
    for t in tracks {
        put(
            &mut buf,
            &TracePacket {
                trusted_packet_sequence_id: Some(SEQ),
                track_descriptor: Some(t),
                ..Default::default()
            },
        );
    }
    for e in &evs {
        put(&mut buf, &packet(e));
    }
    buf
}

fn packet(e: &Ev) -> TracePacket {
    let (ty, counter) = match e.kind {
        Kind::Begin => (1, None),
        Kind::End => (2, None),
        Kind::Instant => (3, None),
        Kind::Counter(v) => (4, Some(v)),
    };
    let nz = |i: u32| (i != 0).then_some(i as u64);
    let mut ev = TrackEvent {
        r#type: Some(ty),
        track_uuid: Some(uuid(e.track)),
        name_iid: nz(e.name),
        category_iids: nz(e.cat).into_iter().collect(),
        counter_value: counter,
        flow_ids: (e.flow != 0).then_some(e.flow).into_iter().collect(),
        ..Default::default()
    };
    if let Some(x) = &e.extra {
        ev.terminating_flow_ids = x.ends.clone();
        ev.debug_annotations = x
            .args
            .iter()
            .map(|(n, a)| DebugAnnotation {
                name: Some(n.to_string()),
                uint_value: match a {
                    Arg::U(u) => Some(*u),
                    Arg::S(_) => None,
                },
                string_value: match a {
                    Arg::S(s) => Some(s.clone()),
                    Arg::U(_) => None,
                },
            })
            .collect();
    }
    TracePacket {
        timestamp: Some(e.ts.max(0.0).round() as u64),
        trusted_packet_sequence_id: Some(SEQ),
        sequence_flags: Some(2),
        track_event: Some(ev),
        ..Default::default()
    }
}

/// Decodes a trace written by [`encode`] (or any trace, for these fields).
pub fn decode(bytes: &[u8]) -> Result<Trace, String> {
    Trace::decode(bytes).map_err(|e| format!("not a Perfetto trace: {e}"))
}
