/* DeskPulse dashboard: the store. One record per node, filled from MQTT messages; no DOM, no MQTT client.
   The connection module feeds it (apply), the view reads it, listeners hear about changes. */
(function (DP) {
  "use strict";

  const C = DP.constants;
  const decoder = new TextDecoder("utf-8", { fatal: false });

  function nowSeconds() {
    return Date.now() / 1000;
  }

  /**
   * @param {unknown} value
   * @returns {value is Record<string, any>}
   */
  function isPlainObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  /** @typedef {"state" | "camera" | "stats" | "history" | "event" | "info"} JsonLeaf */

  /**
   * What each JSON topic must at least carry to be drawn; anything else is reported and ignored.
   * @type {Record<JsonLeaf, (payload: Record<string, any>) => boolean>}
   */
  const REQUIRED = {
    state: (p) => typeof p.posture === "string" && Number.isFinite(p.ts),
    camera: (p) => typeof p.state === "string",
    stats: (p) => isPlainObject(p.today),
    history: (p) => Array.isArray(p.days),
    event: (p) => typeof p.event_type === "string",
    info: () => true,
  };

  /**
   * @param {string} leaf
   * @returns {leaf is JsonLeaf}
   */
  function isJsonLeaf(leaf) {
    return Object.prototype.hasOwnProperty.call(REQUIRED, leaf);
  }

  // ------------------------------------------------------------------ pose: validated strictly, it is drawn

  /** The landmarks a pose may name (MediaPipe's, those the posture engine uses). */
  const POSE_POINTS = new Set([
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_hip", "right_hip",
  ]);
  const POSE_OPS = new Set([">", "<", ">=", "<=", "≥", "≤"]);
  const POSE_MAX_LINES = 16;
  const POSE_MAX_NAME = 40;

  /**
   * @param {unknown} value
   * @returns {value is number}
   */
  function unit(value) {
    return typeof value === "number" && Number.isFinite(value) && value >= 0 && value <= 1;
  }

  /**
   * @param {unknown} value
   * @returns {value is [number, number]}
   */
  function unitPair(value) {
    return Array.isArray(value) && value.length === 2 && unit(value[0]) && unit(value[1]);
  }

  /**
   * @param {unknown} value
   * @returns {value is string}
   */
  function shortText(value) {
    return typeof value === "string" && value.length > 0 && value.length <= POSE_MAX_NAME;
  }

  /**
   * Why a decoded `pose` payload cannot be drawn, or "" when it can. Every number is finite, every
   * coordinate within 0..1 of the picture, every point a known landmark.
   * @param {Record<string, any>} p
   * @returns {string}
   */
  function poseProblem(p) {
    if (!Number.isFinite(p.ts)) return "no finite ts";
    if (p.frame_ts !== undefined && p.frame_ts !== null && !Number.isFinite(p.frame_ts)) return "frame_ts is not a number";
    if (typeof p.posture !== "string" || !C.POSTURES.includes(p.posture)) return "unknown posture";
    if (!shortText(p.view)) return "no view";
    if (!(typeof p.aspect === "number" && Number.isFinite(p.aspect) && p.aspect >= 0.2 && p.aspect <= 5)) return "aspect out of range";
    if (!isPlainObject(p.points)) return "points is not an object";
    for (const [name, point] of Object.entries(p.points)) {
      if (!POSE_POINTS.has(name)) return `unknown point ${name.slice(0, POSE_MAX_NAME)}`;
      if (!(Array.isArray(point) && point.length === 3 && point.every(unit))) return `point ${name} is not [x, y, visibility] within 0..1`;
    }
    if (!Array.isArray(p.lines) || p.lines.length > POSE_MAX_LINES) return "lines is not a short list";
    for (const line of p.lines) {
      if (!isPlainObject(line)) return "a line is not an object";
      if (!shortText(line.name) || !shortText(line.measure) || !/_(deg|ratio)$/.test(line.measure)) return "a line has no name or measure";
      if (!unitPair(line.a) || !unitPair(line.b)) return `line ${line.name} does not lie within the picture`;
      if (!Number.isFinite(line.value) || !Number.isFinite(line.limit)) return `line ${line.name} has no finite value and limit`;
      if (!POSE_OPS.has(line.op) || typeof line.broken !== "boolean") return `line ${line.name} has no comparison`;
    }
    return "";
  }

  /** Everything known about one node. Retained topics are plain fields; `null` means not published. */
  class NodeRecord {
    /** @param {string} id */
    constructor(id) {
      this.id = id;
      /** @type {string | null} */
      this.availability = null;
      /** @type {PostureState | null} */
      this.state = null;
      /** @type {CameraPayload | null} */
      this.camera = null;
      /** @type {StatsPayload | null} */
      this.stats = null;
      /** @type {HistoryPayload | null} */
      this.history = null;
      /** @type {InfoPayload | null} */
      this.info = null;
      /** @type {DeskPulse.Frame | null} */
      this.frame = null;
      /** The latest skeleton (not retained: it never keeps a node on the page by itself).
          @type {DeskPulse.Pose | null} */
      this.pose = null;
      /** @type {Record<string, DeskPulse.Setting>} */
      this.settings = {};
      /** @type {{ event: EventPayload, receivedAt: number }[]} */
      this.events = [];
      /** @type {DeskPulse.Alert | null} */
      this.alert = null;
      /** @type {Record<string, DeskPulse.Command>} */
      this.commands = {};
      /** @type {number | null} */
      this.lastMessageAt = null;
      /** @type {number[]} */
      this.clockSamples = [];
      /** When each retained topic (or `setting:<name>`) last arrived, for the resync after a reconnect.
          @type {Map<string, number>} */
      this.touched = new Map();
    }

    /** Node clock minus this browser's clock, learnt from live messages (0 until one arrives). */
    get clockOffset() {
      return this.clockSamples.length ? Math.min(...this.clockSamples) : 0;
    }

    /** "Now" on the node's clock, so ages computed from payload timestamps survive clock skew. */
    nodeNow() {
      return nowSeconds() - this.clockOffset;
    }

    get name() {
      const configured = this.info && this.info.config && this.info.config["name"];
      return typeof configured === "string" && configured.trim() ? configured.trim() : this.id;
    }

    get online() {
      return this.availability === "online";
    }

    get offline() {
      return this.availability === "offline";
    }

    /** Seconds since the node last published its state (node clock), or null. */
    stateAge() {
      return this.state ? Math.max(0, this.nodeNow() - this.state.ts) : null;
    }

    get stale() {
      const age = this.stateAge();
      return !this.offline && age !== null && age > C.STALE_AFTER_S;
    }

    /** How long a frame may go without a successor before it no longer counts as live. */
    frameStaleAfter() {
      const frames = this.info && this.info.config && this.info.config["frames"];
      const interval = isPlainObject(frames) && Number.isFinite(frames.interval_s) ? frames.interval_s : 1;
      return Math.max(C.FRAME_STALE_MIN_S, 3 * interval);
    }

    hasRetained() {
      return Boolean(
        this.availability || this.state || this.camera || this.stats || this.history || this.info || this.frame
      ) || Object.keys(this.settings).length > 0;
    }

    /**
     * Forget one retained topic (or `setting:<name>`).
     * @param {string} key
     */
    forget(key) {
      if (key.startsWith("setting:")) delete this.settings[key.slice("setting:".length)];
      else if (key === "availability") this.availability = null;
      else if (key === "frame") this.frame = null;
      else if (key === "state") this.state = null;
      else if (key === "camera") this.camera = null;
      else if (key === "stats") this.stats = null;
      else if (key === "history") this.history = null;
      else if (key === "info") this.info = null;
      this.touched.delete(key);
    }
  }

  class Store {
    constructor() {
      /** @type {Map<string, NodeRecord>} */
      this.nodes = new Map();
      /** @type {(() => void)[]} */
      this.changeListeners = [];
      /** @type {((record: NodeRecord, event: EventPayload, receivedAt: number) => void)[]} */
      this.eventListeners = [];
      /** @type {((record: NodeRecord, previous: string | null, state: PostureState) => void)[]} */
      this.postureListeners = [];
      this.version = 0;
      this.frameVersion = 0;
      this.poseVersion = 0;
      /** @type {DeskPulse.Diagnostics} */
      this.diagnostics = {
        messages: 0,
        malformed: 0,
        lastProblem: null,
        stateDelaysMs: [],
        poseDelaysMs: [],
        liveStates: [],
        frameArrivals: [],
        counts: {},
      };
    }

    /** @param {() => void} listener */
    onChange(listener) {
      this.changeListeners.push(listener);
    }

    /**
     * listener(record, event, receivedAt) for every live `event` message.
     * @param {(record: NodeRecord, event: EventPayload, receivedAt: number) => void} listener
     */
    onEvent(listener) {
      this.eventListeners.push(listener);
    }

    /**
     * listener(record, previousPosture, state) when a node's posture changes.
     * @param {(record: NodeRecord, previous: string | null, state: PostureState) => void} listener
     */
    onPosture(listener) {
      this.postureListeners.push(listener);
    }

    changed() {
      this.version += 1;
      for (const listener of this.changeListeners) listener();
    }

    sortedNodes() {
      return [...this.nodes.values()].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
    }

    /**
     * Report a message that was ignored (console warning and diagnostics); nothing on the page changes.
     * @param {string} topic
     * @param {string} why
     */
    problem(topic, why) {
      this.diagnostics.malformed += 1;
      this.diagnostics.lastProblem = `${topic}: ${why}`;
      console.warn("DeskPulse: ignored a message on %s: %s", topic, why);
    }

    /**
     * Apply one MQTT message about `nodeId`; `leaf` is the topic after `deskpulse/<node>/`.
     * @param {string} nodeId
     * @param {string} leaf
     * @param {Uint8Array | null} payload
     * @param {{ retained?: boolean, receivedAt?: number }} [options]
     */
    apply(nodeId, leaf, payload, { retained = false, receivedAt = nowSeconds() } = {}) {
      const topic = `${C.TOPIC_PREFIX}/${nodeId}/${leaf}`;
      const diag = this.diagnostics;
      diag.messages += 1;
      diag.counts[leaf] = (diag.counts[leaf] || 0) + 1;
      let record = this.nodes.get(nodeId);

      if (leaf === "event") {
        // Events are not retained and never make a node appear on their own.
        if (!record || !payload || payload.length === 0) return;
        const event = /** @type {EventPayload | null} */ (this.parseJson(topic, leaf, payload));
        if (event) this.applyEvent(record, event, receivedAt);
        return;
      }

      if (leaf === C.POSE_LEAF) {
        // Like an event, a pose never makes a node appear; an empty (expired or cleared) one removes it.
        if (!record) return;
        if (!payload || payload.length === 0) {
          if (record.pose) {
            record.pose = null;
            this.changed();
          }
          return;
        }
        const pose = this.parsePose(topic, payload);
        if (pose) this.applyPose(record, pose, retained, receivedAt);
        return;
      }

      const settingMatch = /^([a-z_]+)\/state$/.exec(leaf);
      const setting = settingMatch && C.SETTINGS.includes(settingMatch[1]) ? settingMatch[1] : null;
      if (setting === null && leaf !== "frame" && leaf !== "availability" && !isJsonLeaf(leaf)) return;
      const key = setting === null ? leaf : `setting:${setting}`;

      if (!payload || payload.length === 0) {
        if (record) this.clear(record, key);
        return;
      }

      /** @type {(record: NodeRecord) => void} */
      let store;
      if (leaf === "frame") {
        const frame = this.parseFrame(topic, payload, receivedAt, retained);
        if (!frame) return;
        store = (r) => {
          r.frame = frame;
          this.frameVersion += 1;
          diag.frameArrivals.push(receivedAt);
          if (diag.frameArrivals.length > C.LATENCY_SAMPLES) diag.frameArrivals.shift();
        };
      } else if (setting !== null) {
        const value = decoder.decode(payload).trim();
        store = (r) => this.applySetting(r, setting, value, receivedAt);
      } else if (leaf === "availability") {
        const value = decoder.decode(payload).trim();
        store = (r) => {
          r.availability = value;
        };
      } else if (isJsonLeaf(leaf)) {
        const value = this.parseJson(topic, leaf, payload);
        if (!value) return;
        if (leaf === "state") store = (r) => this.applyState(r, /** @type {PostureState} */ (value), retained, receivedAt);
        else if (leaf === "camera") store = (r) => (r.camera = /** @type {CameraPayload} */ (value));
        else if (leaf === "stats") store = (r) => (r.stats = /** @type {StatsPayload} */ (value));
        else if (leaf === "history") store = (r) => (r.history = /** @type {HistoryPayload} */ (value));
        else store = (r) => (r.info = /** @type {InfoPayload} */ (value));
      } else {
        return;
      }

      if (!record) {
        record = new NodeRecord(nodeId);
        this.nodes.set(nodeId, record);
      }
      record.lastMessageAt = receivedAt;
      store(record);
      record.touched.set(key, receivedAt);
      this.changed();
    }

    /**
     * A JSON object that carries what its topic needs, or null (reported).
     * @param {string} topic
     * @param {JsonLeaf} leaf
     * @param {Uint8Array} payload
     * @returns {Record<string, any> | null}
     */
    parseJson(topic, leaf, payload) {
      let value;
      try {
        value = JSON.parse(decoder.decode(payload));
      } catch (error) {
        this.problem(topic, `not JSON (${error instanceof Error ? error.message : error})`);
        return null;
      }
      if (!isPlainObject(value)) {
        this.problem(topic, "not a JSON object");
        return null;
      }
      if (!REQUIRED[leaf](value)) {
        this.problem(topic, "fields missing for this topic");
        return null;
      }
      return value;
    }

    /**
     * A `pose` payload that is safe to draw, or null (reported). Anything too large is not even decoded.
     * @param {string} topic
     * @param {Uint8Array} payload
     * @returns {PosePayload | null}
     */
    parsePose(topic, payload) {
      if (payload.length > C.POSE_MAX_BYTES) {
        this.problem(topic, `${payload.length} bytes is too large for a pose`);
        return null;
      }
      let value;
      try {
        value = JSON.parse(decoder.decode(payload));
      } catch (error) {
        this.problem(topic, `not JSON (${error instanceof Error ? error.message : error})`);
        return null;
      }
      if (!isPlainObject(value)) {
        this.problem(topic, "not a JSON object");
        return null;
      }
      const why = poseProblem(value);
      if (why) {
        this.problem(topic, why);
        return null;
      }
      return /** @type {PosePayload} */ (value);
    }

    /**
     * @param {NodeRecord} record
     * @param {PosePayload} payload
     * @param {boolean} retained
     * @param {number} receivedAt
     */
    applyPose(record, payload, retained, receivedAt) {
      if (!retained) {
        const diag = this.diagnostics;
        diag.poseDelaysMs.push((receivedAt - payload.ts) * 1000);
        if (diag.poseDelaysMs.length > C.LATENCY_SAMPLES) diag.poseDelaysMs.shift();
      }
      // A retained pose (MQTT 5, with an expiry) may be a moment old already: age it by the node's clock.
      const age = retained ? Math.max(0, record.nodeNow() - payload.ts) : 0;
      this.poseVersion += 1;
      record.pose = { payload, at: receivedAt - age, version: this.poseVersion };
      this.changed();
    }

    /**
     * @param {string} topic
     * @param {Uint8Array} payload
     * @param {number} receivedAt
     * @param {boolean} retained
     * @returns {DeskPulse.Frame | null}
     */
    parseFrame(topic, payload, receivedAt, retained) {
      if (payload.length < 4 || payload[0] !== 0xff || payload[1] !== 0xd8) {
        this.problem(topic, "not a JPEG image");
        return null;
      }
      return {
        blob: new Blob([/** @type {Uint8Array<ArrayBuffer>} */ (payload)], { type: "image/jpeg" }),
        size: payload.length,
        receivedAt,
        retained,
        version: this.frameVersion + 1,
      };
    }

    /**
     * @param {NodeRecord} record
     * @param {PostureState} state
     * @param {boolean} retained
     * @param {number} receivedAt
     */
    applyState(record, state, retained, receivedAt) {
      const previous = record.state ? record.state.posture : null;
      if (!retained) {
        record.clockSamples.push(receivedAt - state.ts);
        if (record.clockSamples.length > C.CLOCK_SAMPLES) record.clockSamples.shift();
        const diag = this.diagnostics;
        diag.stateDelaysMs.push((receivedAt - state.ts) * 1000);
        if (diag.stateDelaysMs.length > C.LATENCY_SAMPLES) diag.stateDelaysMs.shift();
        diag.liveStates.push({ node: record.id, seq: state.seq, posture: state.posture });
        if (diag.liveStates.length > C.LATENCY_SAMPLES) diag.liveStates.shift();
      }
      record.state = state;
      if (record.alert && ["good", "away", "paused"].includes(state.posture)) record.alert = null;
      if (previous !== state.posture) {
        for (const listener of this.postureListeners) listener(record, previous, state);
      }
    }

    /**
     * @param {NodeRecord} record
     * @param {string} name
     * @param {string} value
     * @param {number} receivedAt
     */
    applySetting(record, name, value, receivedAt) {
      record.settings[name] = { value, receivedAt };
      const pending = record.commands[name];
      if (pending && (pending.status === "sending" || pending.status === "sent")) {
        record.commands[name] = { status: "done", value, at: receivedAt, message: "" };
      }
    }

    /**
     * @param {NodeRecord} record
     * @param {EventPayload} event
     * @param {number} receivedAt
     */
    applyEvent(record, event, receivedAt) {
      record.events.unshift({ event, receivedAt });
      if (record.events.length > C.EVENT_LOG_SIZE) record.events.length = C.EVENT_LOG_SIZE;
      const details = isPlainObject(event.details) ? event.details : {};
      if (event.event_type === "posture_alert") {
        record.alert = { event, receivedAt, dismissed: false };
      } else if (event.event_type === "posture_corrected" || event.event_type === "alert_cleared") {
        record.alert = null;
      } else if (event.event_type === "command_rejected") {
        const setting = details.setting;
        if (typeof setting === "string" && record.commands[setting]) {
          const reason = details.reason || event.message || "rejected";
          record.commands[setting] = { status: "error", message: `The node rejected it: ${reason}`, at: receivedAt };
        }
      }
      for (const listener of this.eventListeners) listener(record, event, receivedAt);
      this.changed();
    }

    /**
     * Forget a retained topic (its retained message was deleted); drop the node when nothing is left.
     * @param {NodeRecord} record
     * @param {string} key a leaf, or `setting:<name>`
     */
    clear(record, key) {
      record.forget(key);
      if (key === "frame") this.frameVersion += 1;
      if (!record.hasRetained()) this.nodes.delete(record.id);
      this.changed();
    }

    /**
     * Start of a resubscription: remember when, so endResync can drop what was not re-delivered.
     * @param {DeskPulse.ResyncToken["kind"]} kind
     * @returns {DeskPulse.ResyncToken}
     */
    beginResync(kind) {
      return { kind, startedAt: nowSeconds() };
    }

    /** @param {DeskPulse.ResyncToken} token */
    endResync(token) {
      const frameOnly = token.kind === "frames";
      let dropped = false;
      for (const record of [...this.nodes.values()]) {
        for (const [key, at] of [...record.touched.entries()]) {
          if ((key === "frame") !== frameOnly || at >= token.startedAt) continue;
          record.forget(key);
          dropped = true;
        }
        if (!record.hasRetained()) this.nodes.delete(record.id);
      }
      if (dropped) this.changed();
    }

    /**
     * Forget the frames of nodes not in `ids` (the page no longer receives them).
     * @param {string[]} ids
     */
    keepFramesOf(ids) {
      let dropped = false;
      for (const record of this.nodes.values()) {
        if (record.frame && !ids.includes(record.id)) {
          record.frame = null;
          record.touched.delete("frame");
          dropped = true;
        }
      }
      if (dropped) {
        this.frameVersion += 1;
        this.changed();
      }
    }

    /** Forget every frame (after signing out: a picture of a person is for signed-in viewers only). */
    dropFrames() {
      for (const record of this.nodes.values()) {
        record.frame = null;
        record.touched.delete("frame");
      }
      this.frameVersion += 1;
      this.changed();
    }

    /**
     * @param {string} nodeId
     * @param {string} setting
     * @param {Omit<DeskPulse.Command, "at">} status
     */
    setCommand(nodeId, setting, status) {
      const record = this.nodes.get(nodeId);
      if (!record) return;
      record.commands[setting] = { ...status, at: nowSeconds() };
      this.changed();
    }

    /** @param {string} nodeId */
    dismissAlert(nodeId) {
      const record = this.nodes.get(nodeId);
      if (record && record.alert) {
        record.alert.dismissed = true;
        this.changed();
      }
    }
  }

  DP.Store = Store;
  DP.NodeRecord = NodeRecord;
})((window.DeskPulse = window.DeskPulse || {}));

/* ------------------------------------------------------------------ payload types (JSDoc, for tsc)
   What the node publishes (edge_node/payloads.py). The store checks only what it needs to draw a topic
   (REQUIRED above); the view treats every other field as possibly missing. */

/**
 * @typedef {object} PostureState retained `state`
 * @property {string} posture good / bad / away / paused / unknown
 * @property {boolean} [present]
 * @property {string | null} [reason] what is wrong, in words
 * @property {string[]} [reasons] codes for `reason`
 * @property {string} [view] front / side / unknown
 * @property {Record<string, number>} [measures]
 * @property {number} [confidence]
 * @property {number} since when the current posture began
 * @property {number} [bad_for_s]
 * @property {boolean} [calibrated]
 * @property {boolean} [calibration_recommended] a front view without calibration: calibrating is advised
 * @property {string} [sensitivity]
 * @property {number} seq
 * @property {number} ts
 * @property {number | null} [frame_ts]
 */

/**
 * @typedef {object} CameraPayload retained `camera`
 * @property {string} state connected / degraded / disconnected / paused
 * @property {string} [source]
 * @property {[number, number] | null} [resolution]
 * @property {number | null} [fps]
 * @property {{ kind: string, message: string, hint: string } | null} [error]
 * @property {number | null} [retry_at]
 * @property {number} [attempts]
 * @property {number} [since]
 */

/**
 * @typedef {object} DayTotals seconds per state on one local day
 * @property {string} date YYYY-MM-DD
 * @property {number} [good_s]
 * @property {number} [bad_s]
 * @property {number} [away_s]
 * @property {number} [paused_s]
 * @property {number} [unknown_s]
 * @property {number | null} [score] percent
 * @property {number} [alerts]
 */

/**
 * @typedef {object} StatsPayload retained `stats`
 * @property {DayTotals} today
 * @property {number} [pipeline_fps]
 * @property {number | null} [inference_ms]
 * @property {number} [dropped_frames]
 * @property {number} [processed_frames]
 * @property {number} [uptime_s]
 * @property {number} [rss_mb]
 */

/**
 * @typedef {object} HistoryPayload retained `history`
 * @property {DayTotals[]} days oldest first
 * @property {string} [trend]
 * @property {string} [trend_rule]
 * @property {number} [streak_days]
 * @property {number} [goal]
 */

/**
 * @typedef {object} InfoPayload retained `info`
 * @property {string} [version]
 * @property {string} [model]
 * @property {number} [started_at]
 * @property {string} [mqtt_protocol]
 * @property {Record<string, unknown>} [config] the node's effective config, no secrets
 */

/**
 * @typedef {object} EventPayload non-retained `event`
 * @property {string} event_type
 * @property {string} [message]
 * @property {Record<string, any>} [details]
 * @property {number} [ts]
 */

/**
 * @typedef {object} PoseLine a measured line of the skeleton; a and b in 0..1 of the picture
 * @property {string} name e.g. "neck"
 * @property {string} measure ends in "_deg" (an angle) or "_ratio"
 * @property {[number, number]} a
 * @property {[number, number]} b
 * @property {number} value
 * @property {number} limit
 * @property {string} op how value compares with limit when broken, e.g. ">"
 * @property {boolean} broken this measure is past its limit
 */

/**
 * @typedef {object} PosePayload non-retained `pose` (at most 5 Hz, nothing while nobody is in view)
 * @property {number} ts
 * @property {number | null} [frame_ts]
 * @property {string} posture the node's published (steady) posture
 * @property {string} view front / side / unknown
 * @property {number} aspect picture width / height
 * @property {Record<string, [number, number, number]>} points landmark name → [x, y, visibility], all in 0..1
 * @property {PoseLine[]} lines
 */

