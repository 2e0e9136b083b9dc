/* DeskPulse dashboard: tunables and the page-URL parameters. Classic script (mosquitto's http_dir
   sends no Content-Type, so ES modules would be refused); everything hangs off window.DeskPulse. */
(function (DP) {
  "use strict";

  // The node's vocabulary comes from js/contract.js, generated from the node's models: never retyped here.
  const contract = DP.contract;
  // The node's skeleton topic (landmarks and measured lines, never a picture): small and readable by every
  // viewer, so it travels on the state connection. Listed here until the contract names it.
  const POSE_LEAF = "pose";

  const constants = Object.freeze({
    TOPIC_PREFIX: contract.topic_prefix,
    DEFAULT_WS_PORT: 9001,
    // The commented wss listener of the repository's mosquitto.conf (WebSockets over TLS).
    DEFAULT_WSS_PORT: 9443,
    // Topics every viewer may read (anonymous ones too); `frame` travels on its own connection.
    STATE_LEAVES: Object.freeze(contract.state_leaves.includes(POSE_LEAF) ? [...contract.state_leaves] : [...contract.state_leaves, POSE_LEAF]),
    POSE_LEAF,
    SETTINGS: contract.settings,
    POSTURES: contract.postures,
    SENSITIVITIES: contract.sensitivities,
    // Clockwise degrees the node may turn its camera picture by (`rotation/set`), from the node's vocabulary.
    ROTATIONS: contract.rotations,
    NODE_ID_PATTERN: new RegExp(contract.node_id_pattern),
    // The node republishes `state` at least every 30 s; two missed heartbeats and a margin mean stale.
    STALE_AFTER_S: 65,
    // A frame older than this (or 3 frame intervals, whichever is longer) is hidden rather than shown as live.
    FRAME_STALE_MIN_S: 15,
    // After a reconnect, retained topics not delivered again within this time were deleted meanwhile.
    RESYNC_SETTLE_MS: 3000,
    RECONNECT_MS: 1500,
    RECONNECT_JITTER_MS: 1000,
    CONNECT_TIMEOUT_MS: 8000,
    KEEPALIVE_S: 20,
    COMMAND_TIMEOUT_MS: 6000,
    ALERT_MINUTES_MIN: contract.alert_minutes.min,
    ALERT_MINUTES_MAX: contract.alert_minutes.max,
    // Settings set as a number: their bounds come from the node's contract, the words from here.
    NUMBERS: Object.freeze({
      alert_minutes: { ...contract.alert_minutes, step: 1, label: "Alert after (minutes)", unit: "minutes" },
      cpu_budget: { ...contract.cpu_budget, step: 0.05, label: "CPU budget (cores)", unit: "cores" },
    }),
    // A pose message is well under 1 KB; anything above this is not a pose and is ignored unread.
    POSE_MAX_BYTES: 4096,
    // The skeleton follows the latest pose: it fades once older than this, and is gone at POSE_GONE_AFTER_S.
    POSE_FADE_AFTER_S: 1.5,
    POSE_GONE_AFTER_S: 3,
    EVENT_LOG_SIZE: 12,
    LATENCY_SAMPLES: 2000,
    CLOCK_SAMPLES: 20,
    TICK_MS: 1000,
    // Published (empty, QoS 1, not retained) after sign-in to learn from the broker's MQTT 5 PUBACK
    // whether this account may send commands. The node level is not a valid node id, so no node acts on it.
    PERMISSION_PROBE_TOPIC: `${contract.topic_prefix}/.dashboard-probe/calibrate/set`,
    CREDENTIALS_KEY: "deskpulse.credentials",
  });

  /**
   * The default broker: the page's own host, `ws://…:9001` (the plain WebSockets listener that also serves
   * the page), or `wss://…:9443` when the page came over https (the repository's wss listener).
   * @param {Location | URL} location
   * @returns {string}
   */
  function defaultBrokerUrl(location) {
    const secure = location.protocol === "https:";
    const host = location.hostname || "127.0.0.1";
    const bracketed = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
    return secure ? `wss://${bracketed}:${constants.DEFAULT_WSS_PORT}` : `ws://${bracketed}:${constants.DEFAULT_WS_PORT}`;
  }

  /**
   * This machine: 127.0.0.0/8, ::1 or localhost (a host name as `URL.hostname` gives it).
   * @param {string} hostname
   */
  function isLoopbackHost(hostname) {
    const host = hostname.toLowerCase().replace(/\.$/, "");
    if (host === "localhost" || host === "[::1]" || host === "::1") return true;
    // URL() writes every IPv4 address as four decimal numbers (127.1 becomes 127.0.0.1).
    return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
  }

  /**
   * Whether signing in to this broker would send the password readable by anyone on the network: plain
   * `ws://` to a host other than this machine. `wss://` never does.
   * @param {string | null} brokerUrl
   */
  function exposesPassword(brokerUrl) {
    if (!brokerUrl) return false;
    let url;
    try {
      url = new URL(brokerUrl);
    } catch (_error) {
      return false; // parseParams refuses such an address: the page connects nowhere
    }
    return url.protocol === "ws:" && !isLoopbackHost(url.hostname);
  }

  /**
   * Read `?broker=&node=&user=&frames=&mqtt=` into options plus a list of problems to show.
   * @param {Location | URL} location
   * @returns {DeskPulse.PageOptions}
   */
  function parseParams(location) {
    const params = new URLSearchParams(location.search);
    /** @type {string[]} */
    const problems = [];
    /** @type {string | null} */
    let brokerUrl = defaultBrokerUrl(location);
    const broker = (params.get("broker") || "").trim();
    if (broker) {
      let parsed = null;
      try {
        parsed = new URL(broker);
      } catch (_error) {
        // not an address at all: reported below
      }
      if (parsed && (parsed.protocol === "ws:" || parsed.protocol === "wss:") && parsed.hostname) {
        brokerUrl = broker;
      } else {
        problems.push(`broker=${broker} is not a ws:// or wss:// address (e.g. ws://raspberrypi.local:9001).`);
        brokerUrl = null;
      }
    }
    /** @type {string[]} */
    const nodes = [];
    for (const part of (params.get("node") || "").split(",")) {
      const id = part.trim();
      if (!id) continue;
      if (constants.NODE_ID_PATTERN.test(id)) {
        if (!nodes.includes(id)) nodes.push(id);
      } else {
        problems.push(`node=${id} is not a node id (lower-case letters, digits, - and _); it was ignored.`);
      }
    }
    /** @type {DeskPulse.PageOptions["frames"]} */
    const frames = params.get("frames") === "shared" ? "shared" : "separate";
    const mqttParam = params.get("mqtt");
    /** @type {DeskPulse.PageOptions["protocolVersion"]} */
    const protocolVersion = mqttParam === "4" || mqttParam === "3.1.1" ? 4 : mqttParam === "5" ? 5 : null;
    return {
      brokerUrl,
      nodes,
      user: (params.get("user") || "").trim(),
      frames,
      protocolVersion,
      problems,
    };
  }

  DP.constants = constants;
  DP.config = { defaultBrokerUrl, parseParams, isLoopbackHost, exposesPassword };
})((window.DeskPulse = window.DeskPulse || {}));
