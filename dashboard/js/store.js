/* DeskPulse dashboard: the store. One record per node, filled from MQTT messages; no DOM, no MQTT client.
   The connection module feeds it (apply), the view reads it, listeners hear about changes. */
(function (DP) {
  "use strict";

  const C = DP.constants;
  const JSON_LEAVES = new Set(["state", "camera", "stats", "history", "event", "info"]);
  const decoder = new TextDecoder("utf-8", { fatal: false });

  function nowSeconds() {
    return Date.now() / 1000;
  }

  function isPlainObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  // What each JSON topic must at least carry to be drawn; anything else is reported and ignored.
  const REQUIRED = {
    state: (p) => typeof p.posture === "string" && Number.isFinite(p.ts),
    camera: (p) => typeof p.state === "string",
    stats: (p) => isPlainObject(p.today),
    history: (p) => Array.isArray(p.days),
    event: (p) => typeof p.event_type === "string",
    info: () => true,
  };

  /** Everything known about one node. Retained topics are plain fields; `null` means not published. */
  class NodeRecord {
    constructor(id) {
      this.id = id;
      this.availability = null;
      this.state = null;
      this.camera = null;
      this.stats = null;
      this.history = null;
      this.info = null;
      this.frame = null;
      this.settings = {};
      this.events = [];
      this.alert = null;
      this.commands = {};
      this.lastMessageAt = null;
      this.clockSamples = [];
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
      const configured = this.info && this.info.config && this.info.config.name;
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
      const frames = this.info && this.info.config && this.info.config.frames;
      const interval = frames && Number.isFinite(frames.interval_s) ? frames.interval_s : 1;
      return Math.max(C.FRAME_STALE_MIN_S, 3 * interval);
    }

    hasRetained() {
      return Boolean(
        this.availability || this.state || this.camera || this.stats || this.history || this.info || this.frame
      ) || Object.keys(this.settings).length > 0;
    }
  }

  class Store {
    constructor() {
      this.nodes = new Map();
      this.changeListeners = [];
      this.eventListeners = [];
      this.postureListeners = [];
      this.version = 0;
      this.frameVersion = 0;
      this.diagnostics = {
        messages: 0,
        malformed: 0,
        lastProblem: null,
        stateDelaysMs: [],
        liveStates: [],
        frameArrivals: [],
        counts: {},
      };
    }

    onChange(listener) {
      this.changeListeners.push(listener);
    }

    /** listener(record, event, receivedAt) for every live `event` message. */
    onEvent(listener) {
      this.eventListeners.push(listener);
    }

    /** listener(record, previousPosture, state) when a node's posture changes. */
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

    problem(topic, why) {
      this.diagnostics.malformed += 1;
      this.diagnostics.lastProblem = `${topic}: ${why}`;
      console.warn("DeskPulse: ignored a message on %s: %s", topic, why);
    }

    /** Apply one MQTT message about `nodeId`; `leaf` is the topic after `deskpulse/<node>/`. */
    apply(nodeId, leaf, payload, { retained = false, receivedAt = nowSeconds() } = {}) {
      const topic = `${C.TOPIC_PREFIX}/${nodeId}/${leaf}`;
      const diag = this.diagnostics;
      diag.messages += 1;
      diag.counts[leaf] = (diag.counts[leaf] || 0) + 1;
      const empty = !payload || payload.length === 0;
      let record = this.nodes.get(nodeId);

      if (leaf === "event") {
        // Events are not retained and never make a node appear on their own.
        if (!record || empty) return;
        const event = this.parseJson(topic, leaf, payload);
        if (event) this.applyEvent(record, event, receivedAt);
        return;
      }

      const settingMatch = /^([a-z_]+)\/state$/.exec(leaf);
      const isSetting = settingMatch && C.SETTINGS.includes(settingMatch[1]);
      if (!isSetting && leaf !== "frame" && leaf !== "availability" && !JSON_LEAVES.has(leaf)) return;

      if (empty) {
        if (!record) return;
        this.clear(record, isSetting ? `setting:${settingMatch[1]}` : leaf);
        return;
      }

      let value;
      if (leaf === "frame") {
        value = this.parseFrame(topic, payload, receivedAt, retained);
      } else if (leaf === "availability" || isSetting) {
        value = decoder.decode(payload).trim();
      } else {
        value = this.parseJson(topic, leaf, payload);
      }
      if (value === null || value === undefined) return;

      if (!record) {
        record = new NodeRecord(nodeId);
        this.nodes.set(nodeId, record);
      }
      record.lastMessageAt = receivedAt;
      if (isSetting) {
        this.applySetting(record, settingMatch[1], value, receivedAt);
      } else if (leaf === "state") {
        this.applyState(record, value, retained, receivedAt);
      } else if (leaf === "frame") {
        record.frame = value;
        this.frameVersion += 1;
        diag.frameArrivals.push(receivedAt);
        if (diag.frameArrivals.length > C.LATENCY_SAMPLES) diag.frameArrivals.shift();
      } else {
        record[leaf] = value;
      }
      record.touched.set(isSetting ? `setting:${settingMatch[1]}` : leaf, receivedAt);
      this.changed();
    }

    parseJson(topic, leaf, payload) {
      let value;
      try {
        value = JSON.parse(decoder.decode(payload));
      } catch (error) {
        this.problem(topic, `not JSON (${error.message})`);
        return null;
      }
      if (!isPlainObject(value)) {
        this.problem(topic, "not a JSON object");
        return null;
      }
      if (REQUIRED[leaf] && !REQUIRED[leaf](value)) {
        this.problem(topic, "fields missing for this topic");
        return null;
      }
      return value;
    }

    parseFrame(topic, payload, receivedAt, retained) {
      if (payload.length < 4 || payload[0] !== 0xff || payload[1] !== 0xd8) {
        this.problem(topic, "not a JPEG image");
        return null;
      }
      return {
        blob: new Blob([payload], { type: "image/jpeg" }),
        size: payload.length,
        receivedAt,
        retained,
        version: this.frameVersion + 1,
      };
    }

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

    applySetting(record, name, value, receivedAt) {
      record.settings[name] = { value, receivedAt };
      const pending = record.commands[name];
      if (pending && (pending.status === "sending" || pending.status === "sent")) {
        record.commands[name] = { status: "done", value, at: receivedAt, message: "" };
      }
    }

    applyEvent(record, event, receivedAt) {
      record.events.unshift({ event, receivedAt });
      if (record.events.length > C.EVENT_LOG_SIZE) record.events.length = C.EVENT_LOG_SIZE;
      if (event.event_type === "posture_alert") {
        record.alert = { event, receivedAt, dismissed: false };
      } else if (event.event_type === "posture_corrected" || event.event_type === "alert_cleared") {
        record.alert = null;
      } else if (event.event_type === "command_rejected") {
        const setting = event.details && event.details.setting;
        if (typeof setting === "string" && record.commands[setting]) {
          const reason = (event.details && event.details.reason) || event.message || "rejected";
          record.commands[setting] = { status: "error", message: `The node rejected it: ${reason}`, at: receivedAt };
        }
      }
      for (const listener of this.eventListeners) listener(record, event, receivedAt);
      this.changed();
    }

    /** Forget a retained topic (its retained message was deleted); drop the node when nothing is left. */
    clear(record, key) {
      if (key.startsWith("setting:")) {
        delete record.settings[key.slice("setting:".length)];
      } else {
        record[key] = null;
        if (key === "frame") this.frameVersion += 1;
      }
      record.touched.delete(key);
      if (!record.hasRetained()) this.nodes.delete(record.id);
      this.changed();
    }

    /** Start of a resubscription: remember when, so endResync can drop what was not re-delivered. */
    beginResync(kind) {
      return { kind, startedAt: nowSeconds() };
    }

    endResync(token) {
      const frameOnly = token.kind === "frames";
      let dropped = false;
      for (const record of [...this.nodes.values()]) {
        for (const [key, at] of [...record.touched.entries()]) {
          if ((key === "frame") !== frameOnly || at >= token.startedAt) continue;
          if (key.startsWith("setting:")) delete record.settings[key.slice("setting:".length)];
          else record[key] = null;
          record.touched.delete(key);
          dropped = true;
        }
        if (!record.hasRetained()) this.nodes.delete(record.id);
      }
      if (dropped) this.changed();
    }

    /** Forget the frames of nodes not in `ids` (the page no longer receives them). */
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

    setCommand(nodeId, setting, status) {
      const record = this.nodes.get(nodeId);
      if (!record) return;
      record.commands[setting] = { ...status, at: nowSeconds() };
      this.changed();
    }

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
