// Light MQTT load client for the fan-out and latency benchmarks: N subscribers in one Node.js process.
//
// Uses the dashboard's own MQTT.js (dashboard/node_modules). Prints "READY <connected>" once every
// client is subscribed, listens for --seconds, then prints one JSON line with delivery and latency:
// a state message counts when its publish time `ts` falls in the window; every seq between the
// first and last such seq of a node is expected at every client (the node numbers states 1, 2, 3…).
//
//   node bench/fanout.mjs --url ws://127.0.0.1:9001 --clients 1000 --node desk-1 --seconds 20 [--frames]
//
// --go waits, after READY, for a line "GO <epoch seconds>" on stdin that sets the window's start, so
// several processes (one per 250 clients, as browsers are separate processes) share one window;
// --latencies FILE writes every in-window state latency (ms) for the caller to merge.
// --frames subscribes every client to the node's frame topic too; --separate puts that subscription
// on a second connection per client (what a dashboard can do so a big frame never queues in front of
// a state message: mosquitto 2.0's WebSockets sends a message over ~8 KiB in 100 ms service passes).

import { createRequire } from "node:module";
import { writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

const require = createRequire(new URL("../dashboard/package.json", import.meta.url));
const mqtt = require("mqtt");

const RAMP_BATCH = 50; // connections opened at once
const RAMP_PAUSE_MS = 100;
const CONNECT_TIMEOUT_MS = 60_000;
const GRACE_MS = 2_000; // late deliveries of in-window messages still count

function parseArgs(argv) {
  const args = { url: "", clients: 1, node: "+", seconds: 10, warmup: 1, qos: 1, frames: false,
    separate: false, go: false, protocol: 5, records: "", latencies: "" };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i].replace(/^--/, "");
    if (["frames", "separate", "go"].includes(key)) { args[key] = true; continue; }
    const value = argv[++i];
    if (value === undefined) throw new Error(`--${key} needs a value`);
    args[key] = ["clients", "seconds", "warmup", "qos", "protocol"].includes(key) ? Number(value) : value;
  }
  if (!args.url) throw new Error("--url is required");
  return args;
}

const nowS = () => (performance.timeOrigin + performance.now()) / 1000;

function percentile(sorted, q) {
  if (!sorted.length) return null;
  const rank = (sorted.length - 1) * q / 100;
  const lo = Math.floor(rank), hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

function summary(values) {
  const sorted = Float64Array.from(values).sort();
  const r = (v) => (v === null ? null : Math.round(v * 100) / 100);
  const mean = sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : null;
  return { n: sorted.length, mean: r(mean), p50: r(percentile(sorted, 50)), p95: r(percentile(sorted, 95)),
    p99: r(percentile(sorted, 99)), max: r(sorted.length ? sorted[sorted.length - 1] : null) };
}

function readGo() {
  return new Promise((resolve, reject) => {
    let buffer = "";
    process.stdin.setEncoding("utf8");
    process.stdin.on("data", (chunk) => {
      buffer += chunk;
      const match = buffer.match(/GO ([0-9.]+)/);
      if (match) resolve(Number(match[1]));
    });
    process.stdin.on("end", () => reject(new Error("stdin closed before GO")));
  });
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const stateTopic = `deskpulse/${args.node}/state`;
  const frameTopic = `deskpulse/${args.node}/frame`;
  const clients = [];
  const stats = [];
  let connectFailures = 0;
  let disconnects = 0;
  let window = null; // [start, end] epoch seconds, by the node's publish time
  const keepRecords = Boolean(args.records);

  const open = (index, role, mine) => new Promise((resolve) => {
    const client = mqtt.connect(args.url, {
      protocolVersion: args.protocol,
      clientId: `bench-fanout-${process.pid}-${index}-${role}`,
      reconnectPeriod: 0,
      connectTimeout: CONNECT_TIMEOUT_MS,
      keepalive: 60,
    });
    client.on("message", (topic, payload) => {
      const at = nowS();
      if (topic.endsWith("/frame")) {
        if (window && at >= window[0] && at <= window[1]) { mine.frames += 1; mine.frameBytes += payload.length; }
        return;
      }
      let state;
      try { state = JSON.parse(payload.toString()); } catch { return; }
      if (!window || state.ts < window[0] || state.ts > window[1]) return;
      const key = `${state.node}`;
      if (!mine.states.has(key)) mine.states.set(key, new Set());
      mine.states.get(key).add(state.seq);
      mine.latencies.push((at - state.ts) * 1000);
      if (keepRecords && index === 0) mine.records.push([state.node, state.seq, state.ts, state.frame_ts, at]);
    });
    client.on("close", () => { if (client.deskpulseReady) disconnects += 1; });
    client.once("connect", () => {
      const topics = {};
      if (role !== "frames") topics[stateTopic] = { qos: args.qos };
      if (role === "frames" || (role === "both" && args.frames)) topics[frameTopic] = { qos: 0 };
      client.subscribe(topics, (err) => {
        if (err) { connectFailures += 1; resolve(false); return; }
        client.deskpulseReady = true;
        resolve(true);
      });
    });
    client.once("error", () => { connectFailures += 1; client.end(true); resolve(false); });
    setTimeout(() => { if (!client.deskpulseReady) { connectFailures += 1; client.end(true); resolve(false); } },
      CONNECT_TIMEOUT_MS);
    clients.push(client);
  });

  let connected = 0;
  for (let i = 0; i < args.clients; i += RAMP_BATCH) {
    const batch = [];
    for (let j = i; j < Math.min(args.clients, i + RAMP_BATCH); j++) {
      const mine = { states: new Map(), latencies: [], frames: 0, frameBytes: 0, records: [] };
      stats.push(mine);
      const roles = args.frames && args.separate ? ["state", "frames"] : ["both"];
      batch.push(Promise.all(roles.map((role) => open(j, role, mine))).then((oks) => oks.every(Boolean)));
    }
    connected += (await Promise.all(batch)).filter(Boolean).length;
    await new Promise((r) => setTimeout(r, RAMP_PAUSE_MS));
  }
  console.log(`READY ${connected}`);
  const start = args.go ? await readGo() : nowS() + args.warmup;
  window = [start, start + args.seconds];
  const cpu0 = process.cpuUsage();
  const begun = nowS();
  await new Promise((r) => setTimeout(r, Math.max(0, (window[1] - nowS()) * 1000) + GRACE_MS));
  const cpu = process.cpuUsage(cpu0);
  const elapsedMs = (nowS() - begun) * 1000;

  // Expected seqs per node: every number between the first and last seen by anyone in the window.
  const seen = new Map();
  for (const s of stats) for (const [node, seqs] of s.states) {
    const all = seen.get(node) || new Set();
    for (const seq of seqs) all.add(seq);
    seen.set(node, all);
  }
  const expected = new Map();
  for (const [node, seqs] of seen) {
    const list = [...seqs];
    expected.set(node, { first: Math.min(...list), last: Math.max(...list), count: Math.max(...list) - Math.min(...list) + 1 });
  }
  let delivered = 0, wanted = 0, clientsMissing = 0;
  for (const s of stats.slice(0, connected ? stats.length : 0)) {
    let missing = false;
    for (const [node, e] of expected) {
      const got = s.states.get(node) || new Set();
      delivered += got.size;
      wanted += e.count;
      if (got.size < e.count) missing = true;
    }
    if (missing) clientsMissing += 1;
  }
  const latencies = stats.flatMap((s) => s.latencies);
  const frames = stats.reduce((a, s) => a + s.frames, 0);
  const frameBytes = stats.reduce((a, s) => a + s.frameBytes, 0);
  const result = {
    url: args.url, clients: args.clients, connected, connect_failures: connectFailures, disconnects,
    qos: args.qos, frames_subscribed: args.frames, frames_separate: args.separate, window_s: args.seconds,
    nodes: Object.fromEntries(expected),
    state: {
      expected_per_client: [...expected.values()].reduce((a, e) => a + e.count, 0),
      delivered, wanted, delivery_pct: wanted ? Math.round(10000 * delivered / wanted) / 100 : null,
      clients_missing_some: clientsMissing, latency_ms: summary(latencies),
    },
    frames: { received: frames, bytes: frameBytes,
      per_client_bytes_per_s: connected ? Math.round(frameBytes / connected / args.seconds) : 0 },
    client_cpu_pct: Math.round((cpu.user + cpu.system) / elapsedMs) / 10,
    union: Object.fromEntries([...seen].map(([node, seqs]) => [node, [...seqs].sort((a, b) => a - b)])),
    delivered_by_node: Object.fromEntries([...expected.keys()].map((node) =>
      [node, stats.reduce((a, s) => a + ((s.states.get(node) || new Set()).size), 0)])),
  };
  if (args.latencies) writeFileSync(args.latencies, JSON.stringify(latencies.map((v) => Math.round(v * 1000) / 1000)));
  if (keepRecords) writeFileSync(args.records, JSON.stringify(stats[0] ? stats[0].records : []));
  console.log(JSON.stringify(result));
  for (const c of clients) c.end(true);
  process.exit(0);
}

main().catch((err) => { console.error(String(err && err.stack || err)); process.exit(1); });
