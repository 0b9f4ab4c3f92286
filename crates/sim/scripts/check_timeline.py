#!/usr/bin/env python3
"""Checks a `lazymm sim --timeline` trace against the run's report (`--json`).

    lazymm sim ... --timeline t.pftrace --json > report.json
    python3 crates/sim/scripts/check_timeline.py t.pftrace report.json

Decodes the trace with Perfetto's own protobuf schema (`pip install perfetto`: its
perfetto_trace_pb2), rebuilds slices per track from their begin/end events (checking
nesting and time order), pairs flows, and compares what lies in the measured window
[measured_from_ns, measured_from_ns + virtual_ns] with the report's counters: context
switches, lazy and flush IPIs, mm exits. A malformed trace fails (exit 1); counts are
printed. With `--tp`, slices per track and flows are also queried through trace_processor
(which downloads its shell binary on first use). The exact comparison, without a
warm-up, is crates/sim/tests/timeline.rs.
"""
import collections
import json
import sys

from perfetto.protos.perfetto.trace import perfetto_trace_pb2 as pb

BEGIN, END, INSTANT, COUNTER = 1, 2, 3, 4


def load(path):
    trace = pb.Trace()
    raw = open(path, "rb").read()
    trace.ParseFromString(raw)
    # Every byte is a known field of Perfetto's schema: re-encoding gives the same size.
    assert len(trace.SerializeToString()) == len(raw), "unknown fields in the trace"
    return trace


def rebuild(trace):
    names, cats, tracks = {}, {}, {}
    slices, counters, flows_out, flows_end = [], [], {}, collections.Counter()
    stacks = collections.defaultdict(list)
    last_ts = collections.defaultdict(int)
    for p in trace.packet:
        if p.HasField("interned_data"):
            names.update({n.iid: n.name for n in p.interned_data.event_names})
            cats.update({c.iid: c.name for c in p.interned_data.event_categories})
        if p.HasField("track_descriptor"):
            d = p.track_descriptor
            tracks[d.uuid] = d.name or d.process.process_name
            if "TRUNCATED" in d.description:
                print(d.description)
                tracks["truncated"] = True
        if not p.HasField("track_event"):
            continue
        e, ts = p.track_event, p.timestamp
        assert ts >= last_ts[e.track_uuid], f"time goes back on track {e.track_uuid}"
        last_ts[e.track_uuid] = ts
        name = names.get(e.name_iid, "")
        cat = cats.get(e.category_iids[0], "") if e.category_iids else ""
        for f in e.flow_ids:
            assert f not in flows_out, f"flow {f} starts twice"
            flows_out[f] = ts
        for f in e.terminating_flow_ids:
            flows_end[f] += 1
        if e.type == BEGIN:
            stacks[e.track_uuid].append((ts, name, cat))
        elif e.type == END:
            t0, n, c = stacks[e.track_uuid].pop()
            slices.append((tracks[e.track_uuid], t0, ts - t0, n, c))
        elif e.type == INSTANT:
            slices.append((tracks[e.track_uuid], ts, 0, name, cat))
        elif e.type == COUNTER:
            counters.append((tracks[e.track_uuid], ts, e.counter_value))
    assert not any(stacks.values()), "slices left open"
    assert all(flows_end[f] == 1 for f in flows_out), "a flow without its end"
    assert set(flows_end) == set(flows_out), "a flow end without its start"
    return tracks, slices, counters, flows_out


def main():
    path, report = sys.argv[1], json.load(open(sys.argv[2]))
    tracks, slices, counters, flows = rebuild(load(path))
    truncated = tracks.pop("truncated", False)
    t0 = report["measured_from_ns"]
    t1 = t0 + report["virtual_ns"]
    inside = lambda ts: t0 <= ts <= t1
    per_track = collections.Counter(s[0] for s in slices if s[2] > 0)
    print(f"{path}: {len(tracks)} tracks, {len(slices)} slices+instants, {len(flows)} flows")
    for t in sorted(per_track):
        print(f"  {t}: {per_track[t]} slices")
    by_cat = collections.Counter(s[4] for s in slices)
    print("  by category:", dict(sorted(by_cat.items())))
    c = report["counters"]
    rows = [
        ("context_switch slices", sum(1 for s in slices if s[3] == "context_switch" and inside(s[1])), c["context_switches"]),
        ("lazy IPI sends", sum(1 for s in slices if s[4] == "ipi.lazy" and inside(s[1])), c["lazy_ipis"]),
        ("flush IPI sends", sum(1 for s in slices if s[4] == "ipi.flush" and inside(s[1])), c["flush_ipis"]),
        ("__mmdrop instants", sum(1 for s in slices if s[3] == "__mmdrop" and inside(s[1])), None),
        ("__mmput instants", sum(1 for s in slices if s[3].startswith("__mmput") and inside(s[1])), report["free_latency"]["exited"]),
        ("IPI flows (all kinds)", sum(1 for s in slices if s[4].startswith("ipi.")), None),
        ("mm_count transfer flows", sum(1 for s in slices if s[3] == "mm_count transfer"), None),
        ("lazy slices", sum(1 for s in slices if s[4] == "lazy"), None),
        ("peak mms pending free", max([v for _, _, v in counters] or [0]), report["peak_pending_free"]),
    ]
    # The report counts what the engine ran between its warm-up and stop snapshots; the
    # trace is cut by virtual time. CPUs whose clocks run ahead of the one at a snapshot
    # put a few events on the other side of an edge: small differences are those.
    for what, got, want in rows:
        if truncated:
            want = None  # the trace stops at its cut, the report at the stop
        mark = "" if want is None else (" = report" if got == want else f" (report {want}: {got - want:+d} at the window edges)")
        print(f"  {what}: {got}{mark}")
    if "--tp" in sys.argv:
        from perfetto.trace_processor import TraceProcessor
        tp = TraceProcessor(trace=path)
        for r in tp.query("select t.name, count(*) n from slice s join track t on s.track_id = t.id group by 1"):
            print(f"  tp: {r.name}: {r.n}")
        print("  tp flows:", next(iter(tp.query("select count(*) n from flow"))).n)


if __name__ == "__main__":
    main()
