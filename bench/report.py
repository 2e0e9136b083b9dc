"""Tables from a bench result (markdown, readable in a terminal too): `python -m bench.report [file.json]`."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import ROOT


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A markdown table with padded columns."""
    cells = [[str(h) for h in headers]] + [["-" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def verdict(met: object) -> str:
    return "met" if met is True else ("missed" if met is False else "-")


def _pipeline(p: dict[str, Any]) -> str:
    t, x, s = p["threaded"], p["stress"], p["sequential"]
    head = table(
        [
            "run",
            "camera fps",
            "bare MediaPipe fps",
            "pipeline fps",
            "pipeline / bare",
            "per-slice ratio p50",
            "inference p50 ms (in node)",
        ],
        [
            [
                f"camera {r['camera_factor']}x the model",
                r["camera_fps"],
                r["bare_fps"],
                r["fps"],
                f"{100 * r['ratio']:.1f} %",
                r["ratio_per_round"]["p50"],
                r["inference_ms"]["p50"],
            ]
            for r in (t, x)
        ],
    )
    stages = table(
        ["stage", "calls", "mean ms", "p50 ms", "p95 ms"],
        [[name, v["n"], v["mean"], v["p50"], v["p95"]] for name, v in s["stages_ms"].items()],
    )
    title = f"Per stage (Node.process driven back to back, {s['fps']} fps including decode):"
    return f"{head}\n\n{title}\n\n{stages}"


def _latency(lat: dict[str, Any]) -> str:
    rows = []
    for name in ("mosquitto", "amqtt"):
        r = lat.get(name)
        if not r:
            continue
        e, m, t, i = (
            r["capture_to_received_ms"],
            r["minus_inference_ms"],
            r["publish_to_received_ms"],
            r["inference_ms"],
        )
        rows.append(
            [
                name,
                r["states"],
                e["p50"],
                e["p95"],
                e["p99"],
                m["p50"],
                m["p95"],
                m["p99"],
                t["p95"],
                i["p95"],
                r["budget_p95_ms"],
                verdict(r["met"]),
            ]
        )
    return table(
        [
            "broker",
            "states",
            "p50",
            "p95",
            "p99",
            "-inf p50",
            "-inf p95",
            "-inf p99",
            "publish→recv p95",
            "inference p95",
            "budget p95",
            "verdict",
        ],
        rows,
    )


def _fanout(f: dict[str, Any]) -> str:
    rows = []
    for r in f["rows"]:
        lat = r.get("state_latency_ms") or {}
        rows.append(
            [
                r["mode"],
                r["clients"],
                r.get("connected"),
                r.get("delivery_pct"),
                lat.get("p50"),
                lat.get("p95"),
                r["broker"]["cpu_pct"],
                r["broker"]["rss_mb"],
                r["node"]["cpu_pct"],
                r.get("frame_bytes_per_client_s"),
                r.get("load_client_cpu_pct"),
            ]
        )
    return table(
        [
            "mode",
            "N",
            "connected",
            "delivered %",
            "state p50 ms",
            "state p95 ms",
            "broker CPU %",
            "broker RSS MB",
            "node CPU %",
            "frame B/s per client",
            "load client CPU %",
        ],
        rows,
    )


def _frames(fr: dict[str, Any]) -> str:
    enc = table(
        ["camera frame", "KB mean", "KB max", "encode ms p50", "lowest quality used"],
        [
            [k, v["kb"]["mean"], v["kb"]["max"], v["encode_ms"]["p50"], v["min_quality"]]
            for k, v in fr["encoded"]["camera_frames"].items()
        ],
    )
    wire = fr["wire"]
    topics = table(
        ["topic", "msgs/s", "bytes mean", "bytes max", "bytes/s"],
        [
            [k, v["per_s"], v["bytes_mean"], v["bytes_max"], v["bytes_per_s"]]
            for k, v in wire["topics"].items()
        ],
    )
    return (
        f"{enc}\n\nOn the wire (real daemon at its defaults, {wire['seconds']} s):\n\n{topics}\n\n"
        f"Total {wire['total_bytes_per_s']} B/s per subscriber of deskpulse/<node>/#."
    )


def _soak(s: dict[str, Any]) -> str:
    start, end = s.get("start", {}), s.get("end", {})
    head = table(
        [
            "minutes",
            "RSS first / last / peak MB",
            "growth %",
            "RSS slope MB/h",
            "USS first / last MB",
            "USS slope MB/h",
            "open fds start / end (max)",
            "threads start / end (max)",
            "written MB start / end (MB/h)",
            "CPU mean %",
            "verdict",
        ],
        [
            [
                s["minutes"],
                f"{s['rss_first_mb']} / {s['rss_last_mb']} / {s['rss_peak_mb']}",
                s["rss_growth_pct"],
                s["rss_slope_mb_per_h"],
                f"{s.get('uss_first_mb')} / {s.get('uss_last_mb')}",
                s.get("uss_slope_mb_per_h"),
                f"{start.get('fds')} / {end.get('fds')} ({s.get('fds_max')})",
                f"{start.get('threads')} / {end.get('threads')} ({s.get('threads_max')})",
                f"{start.get('write_mb')} / {end.get('write_mb')} ({s.get('write_mb_per_h')})",
                s["cpu_mean_pct"],
                verdict(s["met"]),
            ]
        ],
    )
    events = s.get("events") or []
    if not events:
        return head
    rows = []
    for e in events:
        if "error" in e:
            rows.append([e["kind"], "-", "-", "-", "-", "-", "-", e["error"]])
            continue
        camera = e["kind"].startswith("camera")
        rows.append(
            [
                e["kind"],
                e["at_min"],
                e["down_s"],
                e.get("noticed_s") if camera else "-",
                e.get("camera_back_s") if camera else "-",
                e["state_current_s"],
                f"{e['retained_before']} → {e['retained_after']}",
                "yes" if e["all_back"] else "missing " + ", ".join(e["missing"]),
            ]
        )
    events_table = table(
        [
            "disruption",
            "at min",
            "down s",
            "noticed s",
            "camera back s",
            "state current s",
            "retained topics",
            "all retained back",
        ],
        rows,
    )
    stats = s.get("node_stats", {})
    tail = (
        f"Node at the end: {stats.get('pipeline_fps')} fps processed, {stats.get('inference_fps')} fps "
        f"inferred, pace {stats.get('pace')}, dropped {stats.get('dropped_frames')}; camera gone "
        f"{s.get('camera_down_s')} s each time. Recovery: all retained back {s.get('all_retained_back')}, "
        f"state current at most {s.get('state_current_max_s')} s (target 5 s): "
        f"{verdict(s.get('recovery_met'))}."
    )
    return f"{head}\n\n{events_table}\n\n{tail}"


def _p(summary: dict[str, Any]) -> str:
    if not summary or not summary.get("n"):
        return "-"
    return f"{summary['p50']:.1f} / {summary['p95']:.1f}"


def _cpu(c: dict[str, Any]) -> str:
    rows = [
        [
            r["scene"],
            r["loop"],
            f"{r['cpu_s_per_h']:,.0f}",
            f"{100 * r['cores']:.1f} %",
            f"{r['inferred_per_h']:,}",
            ", ".join(r["pace"]),
            _p(r["to_bad_s"]),
            _p(r["to_good_s"]),
            f"{r['flips']} ({r['expected_flips']})",
            r.get("load", {}).get("before"),
        ]
        for r in c["rows"]
    ]
    scenes = table(
        [
            "scene",
            "loop",
            "CPU-s per hour",
            "of a core",
            "model frames per hour",
            "pace",
            "to bad p50 / p95 s",
            "to good p50 / p95 s",
            "flips (expected)",
            "load average",
        ],
        rows,
    )
    g = c["gate"]["us"]
    goals = table(
        ["goal", "measured", "verdict"], [[x["goal"], x["measured"], verdict(x["met"])] for x in c["goals"]]
    )
    cam = c["camera"]
    return (
        f"{scenes}\n\nWindow {c['minutes']:g} min per scene (fixed and adaptive at the same time; CPU-s "
        f"per hour extrapolated from it), a posture change every {c['change_s']:g} s; camera "
        f"{cam['size'][0]}x{cam['size'][1]} at {cam['fps']:g} fps.\n\n"
        f"Scene-change gate per {c['gate']['frame']} frame, in process: mean {g['mean']} µs, "
        f"p50 {g['p50']} µs, p95 {g['p95']} µs.\n\n{goals}"
    )


def _pi(p: dict[str, Any]) -> str:
    if "skipped" in p:
        return f"skipped: {p['skipped']}"
    cal = p["calibration"]
    r = p["row"]
    share = cal["share_of_core"] or 0
    age = p["frame_age_ms"]
    cores, pi_cores = p["node_cpu_cores"], p.get("node_cpu_pi_cores") or {}
    calibration = (
        f"Calibration: quota {cal['quota_us']} us per {cal['period_us']} us "
        f"({100 * share:.1f} % of one core), bare inference median {cal['median_ms']} ms. Rounds: "
        + "; ".join(p["calibration_rounds"])
    )
    rows: list[list[Any]] = [
        ["posture changes in the window", f"{r['changes']} (missed {r['missed_changes']})", "-"],
        ["time to bad p50 / p95 (s)", _p(r["to_bad_s"]), "≤ 3 + 1 s"],
        ["time to good p50 / p95 (s)", _p(r["to_good_s"]), "≤ 1.5 + 1 s"],
        ["flips (expected)", f"{r['flips']} ({r['expected_flips']})", "-"],
        [
            "camera frames / processed / through the model, per hour",
            f"{p['camera_frames_per_h']:,} / {r['processed_per_h']:,} / {r['inferred_per_h']:,}",
            "the rest skipped at the capture",
        ],
        [
            "dropped_frames start → end",
            f"{p['dropped_frames']['start']} → {p['dropped_frames']['end']}",
            "-",
        ],
        [
            "frame age at publish p50 / p95 ms, first half; second half",
            f"{_p(age['first'])}; {_p(age['second'])}",
            "does not grow",
        ],
        ["inference ms (stats, median of each)", ", ".join(str(x) for x in p["inference_ms"][:8]), "-"],
        [
            "node CPU, stats.cpu_cores mean / max (host cores)",
            f"{cores.get('mean')} / {cores.get('max')}",
            "-",
        ],
        [
            "node CPU in Pi-class cores (÷ quota share) mean / max",
            f"{pi_cores.get('mean')} / {pi_cores.get('max')}",
            "bursts at a change (the budget is an average)",
        ],
        [
            "node CPU by psutil over the window (Pi-class cores)",
            p.get("psutil_pi_cores"),
            f"≤ cpu_budget {p['cpu_budget']} on average + 0.1 (the rest of the node)",
        ],
    ]
    checks = ", ".join(f"{name}: {verdict(ok)}" for name, ok in p["checks"].items())
    return f"{calibration}\n\n{table(['measure', 'value', 'expected'], rows)}\n\nChecks: {checks}."


def _writes(w: dict[str, Any]) -> str:
    node, logs, broker = w["node"], w["log"], w["mosquitto"]
    device = node.get("device_bytes")
    rows = [
        [
            "node: write_bytes (/proc/<pid>/io)",
            f"{node['write_bytes']} B in {w['minutes']} min",
            node["write_mb_per_day"],
            f"{node['syscw']} write calls; data dir on {w['file_system']}",
        ],
        [
            "node: bytes that reached its own ext4 (data + fs journal)",
            "-" if device is None else f"{device} B",
            node.get("device_mb_per_day"),
            "loop device, as root; what an SD card is asked to write",
        ],
        ["node: wchar (page cache included)", f"{node['wchar']} B", node["wchar_mb_per_day"], ""],
        [
            "node: log at the default level",
            f"{logs['bytes']} B, {logs['lines']} lines",
            logs["mb_per_day"],
            "to a pipe, as under systemd",
        ],
        [
            "mosquitto: persistence, write_bytes (repository mosquitto.conf)",
            f"{broker['save_write_bytes']} B a save, mosquitto.db {broker['db_bytes']} B",
            broker["mb_per_day"],
            f"{broker['saves_per_day']} saves a day (autosave_interval {broker['autosave_interval_s']:g} s)",
        ],
        [
            "mosquitto: persistence, bytes that reached its ext4",
            "-" if broker.get("save_device_bytes") is None else f"{broker['save_device_bytes']} B a save",
            broker.get("device_mb_per_day"),
            "",
        ],
    ]
    files = ", ".join(f"{name} {size} B" for name, size in node["data_dir_files"].items())
    return f"{table(['what', 'measured', 'MB/day', 'notes'], rows)}\n\nData dir after the run: {files}"


def budgets(results: dict[str, Any]) -> str:
    """One line per budget: measured figure and verdict."""
    rows = []
    p = results.get("pipeline")
    if p and "error" not in p:
        rows.append(
            [
                "pipeline ≥ 90 % of bare inference fps",
                f"{100 * p['ratio_threaded']:.1f} % ({p['threaded']['fps']} / {p['bare_fps']} fps)",
                verdict(p["met"]),
            ]
        )
    lat = results.get("latency")
    if lat and "error" not in lat:
        for name in ("mosquitto", "amqtt"):
            r = lat.get(name)
            if r:
                rows.append(
                    [
                        f"latency p95 ≤ inference p95 + 15 ms ({name})",
                        f"{r['capture_to_received_ms']['p95']} ms ≤ {r['budget_p95_ms']} ms",
                        verdict(r["met"]) if name == "mosquitto" else verdict(r["met"]) + " (not a budget)",
                    ]
                )
    f = results.get("fanout")
    if f and "error" not in f:
        top = max(r["clients"] for r in f["rows"])
        for mode, met in f["met_by_mode"].items():
            row = next((r for r in f["rows"] if r["clients"] == top and r["mode"] == mode), None)
            if row:
                rows.append(
                    [
                        f"fan-out {top} WS subscribers, {mode}",
                        f"{row['delivery_pct']} % delivered, p95 {row['state_latency_ms']['p95']} ms",
                        verdict(met),
                    ]
                )
        for mode, by_n in f["node_cpu_pct_by_n"].items():
            if by_n:
                rows.append(
                    [
                        f"node CPU independent of N ({mode})",
                        ", ".join(f"N={n}: {cpu} %" for n, cpu in by_n.items()),
                        "-",
                    ]
                )
    fr = results.get("frames")
    if fr and "error" not in fr:
        rows.append(
            [
                "default frame ≤ 40 KB",
                f"max {fr['wire']['frame_kb_max']} KB on the wire",
                verdict(fr["wire"]["met"]),
            ]
        )
    c = results.get("cpu")
    if c and "error" not in c:
        for g in c["goals"]:
            rows.append([f"cpu: {g['goal']}", g["measured"], verdict(g["met"])])
    pi = results.get("pi")
    if pi and "error" not in pi and "skipped" not in pi:
        for name, ok in pi["checks"].items():
            rows.append([f"Pi-class: {name}", "see the Pi-class table", verdict(ok)])
    s = results.get("soak")
    if s and "error" not in s:
        rows.append(
            [
                f"RSS ≤ 300 MB, growth ≤ 10 % ({s['minutes']} min)",
                f"peak {s['rss_peak_mb']} MB, growth {s['rss_growth_pct']} %",
                verdict(s["met"]),
            ]
        )
        if s.get("events"):
            rows.append(
                [
                    "soak: after each broker restart / camera loss, retained back and state current ≤ 5 s",
                    f"all back: {s.get('all_retained_back')}, "
                    f"state current max {s.get('state_current_max_s')} s",
                    verdict(s.get("recovery_met")),
                ]
            )
    w = results.get("writes")
    if w and "error" not in w:
        node = w["node"]
        device = node.get("device_mb_per_day")
        on_device = "" if device is None else f"; {device} MB/day reached the device"
        rows.append(
            [
                f"node writes ≤ 20 MB/day at the defaults ({w['minutes']} min)",
                f"write_bytes {node['write_mb_per_day']} MB/day{on_device}",
                verdict(max(node["write_mb_per_day"], device or 0.0) <= 20.0),
            ]
        )
        rows.append(
            [
                "log ≤ 1 MB/day at the default level",
                f"{w['log']['mb_per_day']} MB/day ({w['log']['lines']} lines in {w['minutes']} min)",
                verdict(w["log"]["mb_per_day"] <= 1.0),
            ]
        )
        rows.append(
            [
                "mosquitto persistence (not a budget)",
                f"write_bytes {w['mosquitto']['mb_per_day']} MB/day; "
                f"device {w['mosquitto'].get('device_mb_per_day')} MB/day",
                "-",
            ]
        )
    for name in ("pipeline", "latency", "fanout", "frames", "cpu", "pi", "soak", "writes"):
        if name in results and "error" in results[name]:
            rows.append([name, results[name]["error"], "error"])
    return table(["budget", "measured", "verdict"], rows)


def render(results: dict[str, Any]) -> str:
    m = results["machine"]
    parts = [
        f"DeskPulse Edge bench, {results['date']}, `{results['command']}`",
        f"{m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; Python {m['python']}, "
        f"mediapipe {m['mediapipe']}, {m['mosquitto']}, Node.js {m['node_js']}; "
        f"load average at start {m['load_average']}",
        "",
        "## Budgets",
        "",
        budgets(results),
    ]
    sections = {
        "pipeline": _pipeline,
        "latency": _latency,
        "fanout": _fanout,
        "frames": _frames,
        "cpu": _cpu,
        "pi": _pi,
        "soak": _soak,
        "writes": _writes,
    }
    titles = {
        "pipeline": "Pipeline (fps)",
        "latency": "Latency: capture → state received (ms)",
        "fanout": "Fan-out: WebSocket subscribers on mosquitto",
        "frames": "Frames at the defaults",
        "cpu": "CPU per monitored hour: fixed-rate loop and adaptive pace",
        "pi": "Pi-class CPU (scripts/pi-class.sh), the node at its defaults",
        "soak": "Soak",
        "writes": "Writes to storage per day (extrapolated from the measured window)",
    }
    for name, render_section in sections.items():
        data = results.get(name)
        if data and "error" not in data:
            load = results.get("load", {}).get(name, {})
            parts += [
                "",
                f"## {titles[name]}",
                "",
                render_section(data),
                "",
                f"(load average before {load.get('before')}, after {load.get('after')}; "
                f"{data.get('elapsed_s')} s)",
            ]
    return "\n".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    path = Path(argv[0]) if argv else ROOT / "bench" / "results" / "latest.json"
    print(render(json.loads(path.read_text())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
