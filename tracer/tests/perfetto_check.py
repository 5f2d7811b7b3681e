#!/usr/bin/env python3
"""Checks tracer's exports with the formats' own readers, for tests/export.rs.

    perfetto_check.py perfetto FILE   decode with perfetto's real schema
    perfetto_check.py chrome FILE     json.load + Trace Event Format rules
    perfetto_check.py jsonl FILE
    perfetto_check.py csv FILE

Each check raises (exit 1, with the reason) on the first violation, and
otherwise prints a JSON summary on stdout for the Rust test to compare with
what it knows of the traced run: slice counts per thread and syscall, names,
flows, requests.

The Perfetto schema is `perfetto_trace_pb2` from the `perfetto` package on
PyPI (installed by `cargo xtask setup`), so field numbers and types are the
real ones, not tracer's idea of them.
"""

import collections
import csv
import json
import sys


class Bad(Exception):
    pass


def require(cond, what):
    if not cond:
        raise Bad(what)


def entries_of(slices):
    """Where each request entered a thread: per thread in time order, the
    slices whose request differs from the previous slice's on that thread.
    `slices` are dicts with tid, ts, request (or None)."""
    by_tid = collections.defaultdict(list)
    for s in slices:
        by_tid[s["tid"]].append(s)
    entries = []
    for tid, items in by_tid.items():
        items.sort(key=lambda s: s["order"])
        previous = None
        for s in items:
            if s["request"] is not None and s["request"] != previous:
                entries.append(s)
            previous = s["request"]
    entries.sort(key=lambda s: (s["ts"], s["order"]))
    return entries


def fnv1a(text):
    h = 0xCBF29CE484222325
    for b in text.encode():
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return max(h, 1)


def check_perfetto(path):
    from perfetto.protos.perfetto.trace import perfetto_trace_pb2 as pb

    trace = pb.Trace()
    with open(path, "rb") as f:
        trace.ParseFromString(f.read())
    packets = list(trace.packet)
    require(packets, "no packets")

    # The trace's clock is the recording's: MONOTONIC, set before any
    # timestamped packet.
    first = packets[0]
    require(first.HasField("clock_snapshot"), "first packet is not a clock snapshot")
    require(
        first.clock_snapshot.primary_trace_clock == pb.BUILTIN_CLOCK_MONOTONIC,
        "primary trace clock is not MONOTONIC",
    )

    tracks = {}  # uuid -> descriptor
    cleared = set()  # sequences whose incremental state was cleared
    defaults_clock = {}
    event_names = {}  # (seq, iid) -> name
    annotation_names = {}
    # Callstacks (-k): (seq, iid) -> the interned messages.
    function_names, frames, callstacks, mappings, mapping_paths, build_ids = {}, {}, {}, {}, {}, {}
    events = []  # (ts, order, packet index, TrackEvent)
    for i, p in enumerate(packets):
        seq = p.trusted_packet_sequence_id
        if p.sequence_flags & pb.TracePacket.SEQ_INCREMENTAL_STATE_CLEARED:
            cleared.add(seq)
        if p.HasField("trace_packet_defaults"):
            defaults_clock[seq] = p.trace_packet_defaults.timestamp_clock_id
        if p.HasField("interned_data"):
            require(seq in cleared, f"packet {i}: interned data before state cleared")
            for n in p.interned_data.event_names:
                event_names[(seq, n.iid)] = n.name
            for n in p.interned_data.debug_annotation_names:
                annotation_names[(seq, n.iid)] = n.name
            d = p.interned_data
            for table, items in (
                (function_names, d.function_names),
                (mapping_paths, d.mapping_paths),
                (build_ids, d.build_ids),
                (mappings, d.mappings),
                (frames, d.frames),
                (callstacks, d.callstacks),
            ):
                for item in items:
                    require(item.iid != 0, f"packet {i}: interned entry with iid 0")
                    table[(seq, item.iid)] = item
            for m in d.mappings:
                for sid in m.path_string_ids:
                    require((seq, sid) in mapping_paths, f"packet {i}: mapping path iid {sid} not interned")
                if m.HasField("build_id"):
                    require((seq, m.build_id) in build_ids, f"packet {i}: build id {m.build_id} not interned")
            for f in d.frames:
                require((seq, f.function_name_id) in function_names, f"packet {i}: frame's name not interned")
                require((seq, f.mapping_id) in mappings, f"packet {i}: frame's mapping not interned")
            for c in d.callstacks:
                require(c.frame_ids, f"packet {i}: empty callstack")
                for f in c.frame_ids:
                    require((seq, f) in frames, f"packet {i}: callstack frame {f} not interned")
        if p.HasField("timestamp"):
            clock = p.timestamp_clock_id if p.HasField("timestamp_clock_id") else defaults_clock.get(seq)
            require(clock == pb.BUILTIN_CLOCK_MONOTONIC, f"packet {i}: timestamp not in MONOTONIC")
        if p.HasField("track_descriptor"):
            d = p.track_descriptor
            require(d.uuid != 0, f"packet {i}: track without uuid")
            if d.HasField("parent_uuid"):
                require(d.parent_uuid in tracks, f"packet {i}: parent {d.parent_uuid} not described")
            if d.HasField("thread"):
                require(d.thread.pid > 0 and d.thread.tid > 0, f"packet {i}: thread without pid/tid")
                parent = tracks.get(d.parent_uuid)
                require(
                    parent is not None and parent.process.pid == d.thread.pid,
                    f"packet {i}: thread track's parent is not its process",
                )
            if d.uuid in tracks:
                old = tracks[d.uuid]
                require(
                    old.HasField("thread") == d.HasField("thread")
                    and old.HasField("process") == d.HasField("process"),
                    f"packet {i}: track {d.uuid} described as another kind",
                )
            tracks[d.uuid] = d
        if p.HasField("track_event"):
            e = p.track_event
            require(p.HasField("timestamp"), f"packet {i}: event without timestamp")
            require(e.track_uuid in tracks, f"packet {i}: event on track {e.track_uuid} not described before")
            uses_interning = (
                e.HasField("name_iid")
                or e.HasField("callstack_iid")
                or any(a.HasField("name_iid") for a in e.debug_annotations)
            )
            if e.HasField("callstack_iid"):
                require((seq, e.callstack_iid) in callstacks, f"packet {i}: callstack {e.callstack_iid} not interned")
            if uses_interning:
                require(
                    p.sequence_flags & pb.TracePacket.SEQ_NEEDS_INCREMENTAL_STATE,
                    f"packet {i}: interned ids without SEQ_NEEDS_INCREMENTAL_STATE",
                )
            if e.HasField("name_iid"):
                require((seq, e.name_iid) in event_names, f"packet {i}: name iid {e.name_iid} not interned")
            for a in e.debug_annotations:
                require(
                    (seq, a.name_iid) in annotation_names,
                    f"packet {i}: annotation iid {a.name_iid} not interned",
                )
            events.append((p.timestamp, i, seq, e))

    # Perfetto orders events by timestamp (ties in file order), then nests
    # begin/end per track.
    events.sort(key=lambda x: (x[0], x[1]))
    depth = collections.Counter()
    open_begin = {}
    slices = []  # syscall slices on thread tracks
    request_slices = []
    counters = collections.defaultdict(list)
    anomalies = collections.Counter()
    for ts, i, seq, e in events:
        track = tracks[e.track_uuid]
        if e.type == pb.TrackEvent.TYPE_COUNTER:
            require(track.HasField("counter"), f"packet {i}: counter value on a non-counter track")
            counters[e.track_uuid].append((ts, e.counter_value))
            continue
        if e.type == pb.TrackEvent.TYPE_SLICE_END:
            require(depth[e.track_uuid] > 0, f"packet {i}: end without begin on track {e.track_uuid}")
            depth[e.track_uuid] -= 1
            begin = open_begin.pop(e.track_uuid)
            begin["end"] = ts
            continue
        require(
            e.type in (pb.TrackEvent.TYPE_SLICE_BEGIN, pb.TrackEvent.TYPE_INSTANT),
            f"packet {i}: unexpected event type {e.type}",
        )
        name = event_names[(seq, e.name_iid)] if e.HasField("name_iid") else e.name
        require(name, f"packet {i}: slice without a name")
        args = {}
        for a in e.debug_annotations:
            value = a.WhichOneof("value")
            args[annotation_names[(seq, a.name_iid)]] = getattr(a, value) if value else None
        if "anomaly" in e.categories:
            require(e.type == pb.TrackEvent.TYPE_INSTANT, f"packet {i}: anomaly is not an instant")
            require(track.HasField("thread"), f"packet {i}: anomaly not on a thread track")
            require(args.get("request") and args.get("found"), f"packet {i}: anomaly without its requests")
            anomalies[name] += 1
            continue
        stack = None
        if e.HasField("callstack_iid"):
            # Outermost first, as Perfetto has them; innermost first here,
            # as tracer's text shows them.
            ids = callstacks[(seq, e.callstack_iid)].frame_ids
            stack = []
            for f in reversed(ids):
                frame = frames[(seq, f)]
                mapping = mappings[(seq, frame.mapping_id)]
                path = "/" + "/".join(mapping_paths[(seq, s)].str.decode() for s in mapping.path_string_ids)
                stack.append({"function": function_names[(seq, frame.function_name_id)].str.decode(), "file": path})
        s = {
            "name": name,
            "stack": stack,
            "ts": ts,
            "end": ts,
            "order": i,
            "args": args,
            "request": args.get("request"),
            "flows": list(e.flow_ids),
        }
        if e.type == pb.TrackEvent.TYPE_SLICE_BEGIN:
            depth[e.track_uuid] += 1
            open_begin[e.track_uuid] = s
        if track.HasField("thread"):
            # A thread makes one syscall at a time.
            require(depth[e.track_uuid] <= 1, f"packet {i}: overlapping syscalls on thread {track.thread.tid}")
            s["tid"] = track.thread.tid
            s["tgid"] = track.thread.pid
            slices.append(s)
        else:
            require(not track.HasField("process"), f"packet {i}: slice on a process track")
            s["track"] = e.track_uuid
            request_slices.append(s)
    unbalanced = {u: d for u, d in depth.items() if d}
    require(not unbalanced, f"unbalanced begin/end on tracks {unbalanced}")

    # Names: thread tracks are named after the task, processes after theirs.
    thread_names = {}
    process_names = {}
    for d in tracks.values():
        if d.HasField("thread"):
            thread_names[str(d.thread.tid)] = d.thread.thread_name
        if d.HasField("process"):
            process_names[str(d.process.pid)] = d.process.process_name

    # Counters: syscalls per second per process add up to the slices.
    per_process = collections.Counter(s["tgid"] for s in slices)
    counted = collections.Counter()
    for uuid, values in counters.items():
        parent = tracks[tracks[uuid].parent_uuid]
        require(parent.HasField("process"), "counter track not under a process")
        times = [t for t, _ in values]
        require(times == sorted(times), "counter samples out of order")
        counted[parent.process.pid] += sum(v for _, v in values)
    require(counted == per_process, f"counters {dict(counted)} != slices {dict(per_process)}")

    # Flows: exactly the slices where a request entered a thread carry its
    # flow id, so each flow step links consecutive entries of one request.
    entries = entries_of(slices)
    flagged = [s for s in slices if s["flows"]]
    require(
        sorted(s["order"] for s in flagged) == sorted(s["order"] for s in entries),
        f"{len(flagged)} slices carry flows, {len(entries)} request entries",
    )
    chains = collections.defaultdict(list)
    for s in entries:
        require(s["flows"] == [fnv1a(s["request"])], f"slice at {s['ts']}: flow id is not its request's")
        chains[s["flows"][0]].append(s)
    steps = 0
    cross_thread = 0
    for chain in chains.values():
        require(len({s["request"] for s in chain}) == 1, "one flow links two requests")
        for a, b in zip(chain, chain[1:]):
            steps += 1
            cross_thread += a["tid"] != b["tid"]

    # Request tracks: every syscall of a request lies inside one of its
    # spans, and each span's track is named after it.
    spans = collections.defaultdict(list)
    for s in request_slices:
        track = tracks[s["track"]]
        require(track.name == f"request {s['name']}", f"request track named {track.name!r}")
        require(s["request"] == s["name"], "request slice without its request")
        spans[s["name"]].append((s["ts"], s["end"]))
    for s in slices:
        if s["request"] is not None:
            require(
                any(a <= s["ts"] and s["end"] <= b for a, b in spans[s["request"]]),
                f"syscall at {s['ts']} of {s['request']} outside its request's spans",
            )

    by_name = collections.Counter(s["name"] for s in slices)
    by_thread = collections.defaultdict(collections.Counter)
    for s in slices:
        by_thread[str(s["tid"])][s["name"]] += 1
    errnos = collections.Counter(f"{s['name']} {s['args']['errno']}" for s in slices if "errno" in s["args"])
    return {
        "slices": len(slices),
        "instants": sum(1 for s in slices if s["end"] == s["ts"] and "ret" not in s["args"]),
        "by_name": by_name,
        "by_thread": by_thread,
        "thread_names": thread_names,
        "process_names": process_names,
        "errnos": errnos,
        "entries": len(entries),
        "flow_steps": steps,
        "cross_thread_flows": cross_thread,
        "requests": len(spans),
        "request_spans": len(request_slices),
        "counter_samples": sum(len(v) for v in counters.values()),
        "anomalies": anomalies,
        "stacks": [{"name": s["name"], "frames": s["stack"]} for s in slices if s["stack"] is not None][:100],
    }


REQUIRED = ("name", "ph", "ts", "pid", "tid")


def check_chrome(path):
    with open(path) as f:
        doc = json.load(f)
    require(isinstance(doc, dict) and isinstance(doc.get("traceEvents"), list), "no traceEvents array")
    events = doc["traceEvents"]
    names = {"thread_name": {}, "process_name": {}}
    slices = []
    flows = collections.defaultdict(dict)
    asyncs = collections.defaultdict(list)
    counters = collections.Counter()
    anomalies = collections.Counter()
    for i, e in enumerate(events):
        for key in REQUIRED:
            require(key in e, f"event {i} has no {key}: {e}")
        require(isinstance(e["ts"], (int, float)) and e["ts"] >= 0, f"event {i}: bad ts")
        require(isinstance(e["pid"], int) and isinstance(e["tid"], int), f"event {i}: bad pid/tid")
        ph = e["ph"]
        if ph == "M":
            require(e["name"] in names, f"event {i}: unknown metadata {e['name']}")
            require(isinstance(e["args"].get("name"), str), f"event {i}: metadata without a name")
            key = e["tid"] if e["name"] == "thread_name" else e["pid"]
            names[e["name"]][str(key)] = e["args"]["name"]
        elif ph == "i" and e.get("cat") == "anomaly":
            require(e["args"].get("request") and e["args"].get("found"), f"event {i}: anomaly without requests")
            anomalies[e["name"]] += 1
        elif ph in ("X", "i"):
            if ph == "X":
                require(isinstance(e.get("dur"), (int, float)) and e["dur"] >= 0, f"event {i}: X without dur")
            else:
                require(e.get("s") in ("t", "p", "g"), f"event {i}: instant without scope")
            require(str(e["tid"]) in names["thread_name"], f"event {i}: thread named after its first event")
            slices.append(
                {
                    "name": e["name"],
                    "tid": e["tid"],
                    "ts": e["ts"],
                    "end": e["ts"] + e.get("dur", 0),
                    "order": i,
                    "request": e["args"].get("request"),
                    "args": e["args"],
                }
            )
        elif ph in ("s", "f"):
            require("id" in e and e.get("bp") == "e", f"event {i}: flow without id or binding")
            require(ph not in flows[e["id"]], f"event {i}: flow {e['id']} has two {ph}")
            flows[e["id"]][ph] = e
        elif ph in ("b", "e"):
            require("id" in e and "cat" in e, f"event {i}: async event without id/cat")
            asyncs[(e["cat"], e["id"])].append(e)
        elif ph == "C":
            require(all(isinstance(v, (int, float)) for v in e["args"].values()), f"event {i}: bad counter")
            counters[e["pid"]] += sum(e["args"].values())
        else:
            raise Bad(f"event {i}: unexpected phase {ph}")

    # Flows bind to the slices where a request entered a thread: both ends
    # entries of the same request, forward in time.
    at = {(s["tid"], s["ts"]): s for s in slices}
    entries = entries_of(slices)
    is_entry = {s["order"] for s in entries}
    for fid, pair in flows.items():
        require(set(pair) == {"s", "f"}, f"flow {fid} is not an s/f pair")
        src = at.get((pair["s"]["tid"], pair["s"]["ts"]))
        dst = at.get((pair["f"]["tid"], pair["f"]["ts"]))
        require(src is not None and dst is not None, f"flow {fid} does not bind to slices")
        require(src["request"] is not None and src["request"] == dst["request"], f"flow {fid} links two requests")
        require(src["order"] in is_entry and dst["order"] in is_entry, f"flow {fid} does not link entries")
        require(src is not dst and src["ts"] <= dst["ts"], f"flow {fid} points back in time")

    for key, pair in asyncs.items():
        require([e["ph"] for e in pair] == ["b", "e"], f"async {key} is not one b/e pair")
        require(pair[0]["ts"] <= pair[1]["ts"], f"async {key} ends before it begins")

    per_process = collections.Counter()
    for e in events:
        if e["ph"] in ("X", "i") and e.get("cat") == "syscall":
            per_process[e["pid"]] += 1
    require(counters == per_process, f"counters {dict(counters)} != slices {dict(per_process)}")
    return {
        "slices": len(slices),
        "by_name": collections.Counter(s["name"] for s in slices),
        "thread_names": names["thread_name"],
        "process_names": names["process_name"],
        "flows": len(flows),
        "entries": len(entries),
        "request_spans": len(asyncs),
        "anomalies": anomalies,
    }


COLUMNS = ["ts", "dur", "tgid", "tid", "comm", "syscall", "args", "ret", "errno", "request_id", "data", "type"]
TASK_TYPES = {"signal", "stopped", "exit"}
TASK_KEYS = ["type", "ts", "tgid", "tid", "comm", "signal", "line"]
EXIT_KEYS = ["type", "ts", "tgid", "tid", "comm", "signal", "exit_code", "core_dumped", "line"]


def check_jsonl(path):
    """Syscall rows have the syscall columns; task rows (signal, stopped,
    exit) theirs, with strace's text as `line`."""
    rows = 0
    names = collections.Counter()
    tasks = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            row = json.loads(line)
            require(isinstance(row["ts"], int), f"line {n}: ts")
            if row["type"] == "syscall":
                require(list(row) == COLUMNS, f"line {n}: keys {list(row)}")
                require(isinstance(row["syscall"], str), f"line {n}: types")
                names[row["syscall"]] += 1
                rows += 1
                continue
            require(row["type"] in TASK_TYPES, f"line {n}: type {row['type']}")
            keys = EXIT_KEYS if row["type"] == "exit" else TASK_KEYS
            require(list(row) == keys, f"line {n}: keys {list(row)}")
            if row["type"] == "exit":
                require((row["exit_code"] is None) == (row["signal"] is not None), f"line {n}: exit")
                require(row["line"].startswith("+++ "), f"line {n}: line")
            else:
                require(row["line"].startswith("--- ") and row["signal"] in row["line"], f"line {n}: line")
            tasks.append({"type": row["type"], "tid": row["tid"], "line": row["line"]})
    return {"rows": rows, "by_name": names, "tasks": tasks}


def check_csv(path):
    """As JSONL: task rows have an empty syscall and strace's text in args."""
    names = collections.Counter()
    tasks = []
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        require(header == COLUMNS, f"header {header}")
        rows = 0
        for n, row in enumerate(reader, 1):
            require(len(row) == len(COLUMNS), f"row {n} has {len(row)} fields")
            int(row[0])
            if row[11] == "syscall":
                names[row[5]] += 1
                rows += 1
                continue
            require(row[11] in TASK_TYPES and row[5] == "", f"row {n}: task row {row}")
            tasks.append({"type": row[11], "tid": int(row[3]), "line": row[6]})
    return {"rows": rows, "by_name": names, "tasks": tasks}


def main():
    kind, path = sys.argv[1], sys.argv[2]
    check = {"perfetto": check_perfetto, "chrome": check_chrome, "jsonl": check_jsonl, "csv": check_csv}[kind]
    try:
        summary = check(path)
    except Bad as e:
        print(f"{kind} check failed: {e}", file=sys.stderr)
        sys.exit(1)
    json.dump(summary, sys.stdout)


if __name__ == "__main__":
    main()
