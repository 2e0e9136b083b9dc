/* DeskPulse dashboard: the one module that owns the MQTT connections (MQTT.js over WebSockets).

   Two connections per page: `state` carries every small topic and the commands; `frames` carries only the
   JPEG frames, and only of the node in the full view. mosquitto 2.0.11 writes about 4 KiB per WebSocket per
   100 ms service pass, and whatever is queued behind a large message on that connection waits too: frames
   on their own connection keep posture state fast, and one node's frames at a time keep the frame stream
   within what the connection can carry (docs/dashboard.md has the measurements). `?frames=shared` puts
   frames on the state connection, for comparison.

   MQTT 5 first (its PUBACK tells whether an account may send commands); a broker that refuses it, such as
   the embedded amqtt, gets MQTT 3.1.1. Credentials live in memory only; app.js decides about sessionStorage. */
(function (DP) {
  "use strict";

  const C = DP.constants;
  const REFUSED_PROTOCOL = new Set([1, 132]);
  const REFUSED_AUTH = new Set([4, 5, 134, 135, 138]);
  const NOT_AUTHORIZED = 135;

  function randomId() {
    const bytes = new Uint8Array(5);
    crypto.getRandomValues(bytes);
    return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  }

  /**
   * Topic filters for the given node ids (empty: every node).
   * @param {string[]} nodes
   */
  function stateFilters(nodes) {
    const levels = nodes.length ? nodes : ["+"];
    const filters = [];
    for (const node of levels) {
      for (const leaf of C.STATE_LEAVES) filters.push(`${C.TOPIC_PREFIX}/${node}/${leaf}`);
      filters.push(`${C.TOPIC_PREFIX}/${node}/+/state`);
    }
    return filters;
  }

  /** @param {string} node */
  function frameFilter(node) {
    return `${C.TOPIC_PREFIX}/${node}/frame`;
  }

  /**
   * Split `deskpulse/<node>/<leaf…>`; null for anything else.
   * @param {string} topic
   */
  function parseTopic(topic) {
    const parts = topic.split("/");
    if (parts.length < 3 || parts[0] !== C.TOPIC_PREFIX || !C.NODE_ID_PATTERN.test(parts[1])) return null;
    return { node: parts[1], leaf: parts.slice(2).join("/") };
  }

  /**
   * @typedef {object} LinkOptions
   * @property {string} url
   * @property {"state" | "frames"} role
   * @property {string[]} filters
   * @property {0 | 1} qos
   * @property {string[]} [extra]
   * @property {DeskPulse.Credentials | null} credentials
   * @property {4 | 5} protocolVersion
   * @property {boolean} allowFallback
   * @property {(topic: string, payload: Uint8Array, packet: DeskPulse.MqttPacket) => void} onMessage
   * @property {(link: Link) => void} onStatus
   * @property {{ begin(): DeskPulse.ResyncToken, end(token: DeskPulse.ResyncToken): void }} [onSubscribed]
   */

  /** One MQTT.js client: connects, subscribes on every (re)connect, reports its status.
      `filters` are fixed; `extra` (frame filters, QoS 0) follow the page's focus via setExtra(). */
  class Link {
    /** @param {LinkOptions} options */
    constructor({ url, role, filters, qos, extra, credentials, protocolVersion, allowFallback, onMessage, onStatus, onSubscribed }) {
      this.url = url;
      this.role = role;
      this.filters = filters;
      this.qos = qos;
      this.extra = new Set(extra || []);
      this.credentials = credentials;
      this.protocolVersion = protocolVersion;
      this.allowFallback = allowFallback;
      this.onMessage = onMessage;
      this.onStatus = onStatus;
      this.onSubscribed = onSubscribed;
      /** @type {DeskPulse.MqttClient | null} */
      this.client = null;
      this.closed = false;
      this.everConnected = false;
      /** @type {DeskPulse.LinkStatus} */
      this.status = { state: "connecting", message: "" };
    }

    /**
     * @param {DeskPulse.LinkStatus["state"]} state
     * @param {string} [message]
     */
    setStatus(state, message = "") {
      if (this.status.state === state && this.status.message === message) return;
      this.status = { state, message };
      this.onStatus(this);
    }

    open() {
      /** @type {Record<string, unknown>} */
      const options = {
        protocolVersion: this.protocolVersion,
        clientId: `deskpulse-web-${randomId()}-${this.role}`,
        clean: true,
        keepalive: C.KEEPALIVE_S,
        reconnectPeriod: C.RECONNECT_MS + Math.floor(Math.random() * C.RECONNECT_JITTER_MS),
        connectTimeout: C.CONNECT_TIMEOUT_MS,
        resubscribe: false,
        queueQoSZero: false,
        // Retry after a refusal such as "server unavailable"; refused credentials end the client below.
        reconnectOnConnackError: true,
      };
      if (this.credentials) {
        options.username = this.credentials.user;
        options.password = this.credentials.password;
      }
      const client = window.mqtt.connect(this.url, options);
      this.client = client;
      client.on("connect", () => {
        if (client !== this.client) return;
        this.everConnected = true;
        this.setStatus("connected");
        /** @type {Record<string, { qos: 0 | 1 }>} */
        const subscriptions = {};
        for (const filter of this.filters) subscriptions[filter] = { qos: this.qos };
        for (const filter of this.extra) subscriptions[filter] = { qos: 0 };
        const resync = this.onSubscribed;
        const token = resync ? resync.begin() : null;
        if (!Object.keys(subscriptions).length) return;
        client.subscribe(subscriptions, (error) => {
          if (error) console.warn("DeskPulse: subscribing on the %s connection failed: %s", this.role, error.message);
          if (resync && token) resync.end(token);
        });
      });
      client.on("message", (topic, payload, packet) => {
        if (client === this.client) this.onMessage(topic, payload, packet);
      });
      client.on("reconnect", () => {
        if (client === this.client && !this.closed && this.everConnected) this.setStatus("reconnecting");
      });
      client.on("offline", () => {
        if (client !== this.client || this.closed) return;
        if (this.everConnected) this.setStatus("reconnecting", "The broker is unreachable");
        else this.setStatus("error", `Cannot reach ${this.url}; trying again every few seconds.`);
      });
      client.on("close", () => {
        if (client === this.client && !this.closed && this.status.state === "connected") this.setStatus("reconnecting");
      });
      client.on("error", (error) => this.handleError(client, error));
    }

    /**
     * @param {DeskPulse.MqttClient} client
     * @param {DeskPulse.MqttError} error
     */
    handleError(client, error) {
      if (client !== this.client || this.closed) return;
      const code = error && error.code;
      if (typeof code === "number" && REFUSED_PROTOCOL.has(code) && this.protocolVersion === 5 && this.allowFallback) {
        // amqtt 0.12 speaks MQTT 3.1.1 only.
        this.protocolVersion = 4;
        client.end(true);
        this.open();
        return;
      }
      if (typeof code === "number" && REFUSED_AUTH.has(code)) {
        // Retrying the same credentials cannot help: stop, and let the person sign in.
        client.end(true);
        this.setStatus("refused", this.credentials ? "Wrong user name or password" : "This broker needs sign-in");
        return;
      }
      if (typeof code === "number") {
        this.setStatus("error", `The broker refused the connection (${error.message}); trying again.`);
        return;
      }
      // Socket-level errors: MQTT.js keeps retrying; keep the message for the status line.
      this.status.message = error && error.message ? error.message : "";
    }

    /**
     * Replace the extra (frame) subscriptions; applied now when connected, else on the next connect.
     * @param {string[]} filters
     */
    setExtra(filters) {
      const wanted = new Set(filters);
      const added = [...wanted].filter((f) => !this.extra.has(f));
      const removed = [...this.extra].filter((f) => !wanted.has(f));
      this.extra = wanted;
      const client = this.client;
      if (!client || !this.connected) return;
      if (removed.length) client.unsubscribe(removed);
      if (added.length) {
        /** @type {Record<string, { qos: 0 }>} */
        const subscriptions = {};
        for (const filter of added) subscriptions[filter] = { qos: 0 };
        client.subscribe(subscriptions, (error) => {
          if (error) console.warn("DeskPulse: subscribing to %s failed: %s", added.join(", "), error.message);
        });
      }
    }

    close() {
      this.closed = true;
      if (this.client) this.client.end(true);
    }

    get connected() {
      return Boolean(this.client && this.client.connected && !this.closed);
    }
  }

  class Connection {
    /** @param {DeskPulse.ConnectionOptions} options */
    constructor({ url, nodes, frames, protocolVersion, store, onChange }) {
      this.url = url;
      this.nodes = nodes;
      this.frameMode = frames;
      this.requestedProtocol = protocolVersion;
      this.store = store;
      this.onChange = onChange;
      /** @type {DeskPulse.Credentials | null} */
      this.credentials = null;
      this.role = "anonymous";
      /** @type {Link | null} */
      this.stateLink = null;
      /** @type {Link | null} */
      this.framesLink = null;
      /** @type {{ cancel(): void } | null} */
      this.pendingSignIn = null;
      /** @type {Link | null} */
      this.probing = null;
      /** @type {string[]} */
      this.frameNodes = [];
    }

    /**
     * The page-level status: connecting, connected, reconnecting, refused (needs sign-in) or error.
     * @returns {DeskPulse.LinkStatus}
     */
    get status() {
      return this.stateLink ? this.stateLink.status : { state: "error", message: "No broker address" };
    }

    get protocolVersion() {
      return this.stateLink ? this.stateLink.protocolVersion : null;
    }

    /** @returns {DeskPulse.LinkStatus} */
    get framesStatus() {
      if (this.frameMode === "shared") return this.status;
      return this.framesLink ? this.framesLink.status : { state: "connecting", message: "" };
    }

    get signedIn() {
      return this.credentials !== null;
    }

    get user() {
      return this.credentials ? this.credentials.user : null;
    }

    get canControl() {
      return this.signedIn && (this.role === "control" || this.role === "control-unconfirmed");
    }

    /**
     * @param {DeskPulse.Credentials | null} [credentials]
     * @param {4 | 5 | null} [protocolVersion]
     */
    start(credentials = null, protocolVersion = null) {
      this.credentials = credentials;
      this.stateLink = this.makeStateLink(credentials, protocolVersion || this.requestedProtocol || 5);
      this.stateLink.open();
      this.onChange();
    }

    /**
     * @param {DeskPulse.Credentials | null} credentials
     * @param {4 | 5} protocolVersion
     */
    makeStateLink(credentials, protocolVersion) {
      const shared = this.frameMode === "shared";
      return new Link({
        url: this.requireUrl(),
        role: "state",
        filters: stateFilters(this.nodes),
        qos: 1,
        extra: shared ? this.frameNodes.map(frameFilter) : [],
        credentials,
        protocolVersion,
        allowFallback: this.requestedProtocol === null,
        onMessage: (topic, payload, packet) => this.dispatch(topic, payload, packet),
        onStatus: (link) => this.linkStatus(link),
        onSubscribed: {
          begin: () => this.store.beginResync(shared ? "all" : "state"),
          end: (token) => this.settle(token, shared),
        },
      });
    }

    /** @param {4 | 5} protocolVersion the state link's */
    makeFramesLink(protocolVersion) {
      return new Link({
        url: this.requireUrl(),
        role: "frames",
        filters: [],
        qos: 0,
        extra: this.frameNodes.map(frameFilter),
        credentials: this.credentials,
        protocolVersion,
        allowFallback: false,
        onMessage: (topic, payload, packet) => this.dispatch(topic, payload, packet),
        onStatus: () => this.onChange(),
        onSubscribed: {
          begin: () => this.store.beginResync("frames"),
          end: (token) => this.settle(token, false),
        },
      });
    }

    /** The broker address (the page connects nowhere without one). */
    requireUrl() {
      if (!this.url) throw new Error("No broker address");
      return this.url;
    }

    /**
     * @param {DeskPulse.ResyncToken} token
     * @param {boolean} shared
     */
    settle(token, shared) {
      window.setTimeout(() => {
        if (shared) {
          this.store.endResync({ ...token, kind: "state" });
          this.store.endResync({ ...token, kind: "frames" });
        } else {
          this.store.endResync(token);
        }
      }, C.RESYNC_SETTLE_MS);
    }

    /**
     * Receive frames of these nodes only (the one in the full view); the store forgets the others'.
     * @param {string[]} nodeIds
     */
    watchFrames(nodeIds) {
      const ids = nodeIds.filter((id) => C.NODE_ID_PATTERN.test(id));
      if (ids.join(",") === this.frameNodes.join(",")) return;
      this.frameNodes = ids;
      const link = this.frameMode === "shared" ? this.stateLink : this.framesLink;
      if (link) link.setExtra(ids.map(frameFilter));
      this.store.keepFramesOf(ids);
    }

    /** @param {Link} link */
    linkStatus(link) {
      if (link !== this.stateLink) return;
      // The frame connection follows the state connection: it opens once the broker accepted us, with
      // the same protocol version and credentials.
      if (link.status.state === "connected" && this.frameMode === "separate" && !this.framesLink) {
        this.framesLink = this.makeFramesLink(link.protocolVersion);
        this.framesLink.open();
      }
      if (link.status.state === "connected" && this.credentials && this.role === "checking") this.probePermission(link);
      this.onChange();
    }

    /**
     * @param {string} topic
     * @param {Uint8Array} payload
     * @param {DeskPulse.MqttPacket} packet
     */
    dispatch(topic, payload, packet) {
      const parsed = parseTopic(topic);
      if (!parsed) return;
      this.store.apply(parsed.node, parsed.leaf, payload, { retained: Boolean(packet.retain), receivedAt: Date.now() / 1000 });
    }

    /**
     * Connect with broker credentials; resolves once the broker accepted them, rejects with a message.
     * @param {string} user
     * @param {string} password
     * @returns {Promise<void>}
     */
    signIn(user, password) {
      if (this.pendingSignIn) this.pendingSignIn.cancel();
      const credentials = { user, password };
      const candidate = this.makeStateLink(credentials, this.stateLink ? this.stateLink.protocolVersion : 5);
      return new Promise((/** @type {(value?: void) => void} */ resolve, reject) => {
        let settled = false;
        /** @param {Error | null} error */
        const finish = (error) => {
          if (settled) return;
          settled = true;
          window.clearTimeout(timer);
          this.pendingSignIn = null;
          if (error) {
            candidate.close();
            reject(error);
          } else {
            this.adopt(candidate, credentials);
            resolve();
          }
        };
        const timer = window.setTimeout(
          () => finish(new Error("The broker did not answer. Check the connection and try again.")),
          C.CONNECT_TIMEOUT_MS + 2000
        );
        this.pendingSignIn = { cancel: () => finish(new Error("Cancelled")) };
        candidate.onStatus = (link) => {
          if (settled) {
            this.linkStatus(link);
            return;
          }
          if (link.status.state === "connected") finish(null);
          else if (link.status.state === "refused") finish(new Error("Wrong user name or password."));
          else if (link.status.state === "error") finish(new Error(link.status.message));
        };
        candidate.open();
      });
    }

    /**
     * Make a connected, signed-in state link the page's connection; the frame link follows.
     * @param {Link} link
     * @param {DeskPulse.Credentials} credentials
     */
    adopt(link, credentials) {
      const old = this.stateLink;
      link.onStatus = (l) => this.linkStatus(l);
      this.stateLink = link;
      this.credentials = credentials;
      this.role = "checking";
      if (old) old.close();
      if (this.framesLink) this.framesLink.close();
      this.framesLink = null;
      this.store.dropFrames();
      this.linkStatus(link);
    }

    /**
     * Learn whether this account may send commands, from the broker's answer to a harmless publish.
     * @param {Link} link
     */
    probePermission(link) {
      if (link.protocolVersion !== 5) {
        // MQTT 3.1.1 brokers drop unauthorised publishes silently; the node's `…/state` echo is the proof.
        this.role = "control-unconfirmed";
        return;
      }
      if (this.probing === link || !link.client) return;
      this.probing = link;
      link.client.publish(C.PERMISSION_PROBE_TOPIC, "", { qos: 1, retain: false }, (error) => {
        if (this.probing === link) this.probing = null;
        if (link !== this.stateLink || this.role !== "checking") return;
        if (!error) this.role = "control";
        else if (error.code === NOT_AUTHORIZED) this.role = "viewer";
        else return; // no answer (e.g. the connection dropped): asked again on the next connect
        this.onChange();
      });
    }

    signOut() {
      if (this.pendingSignIn) this.pendingSignIn.cancel();
      const negotiated = this.stateLink ? this.stateLink.protocolVersion : null;
      if (this.stateLink) this.stateLink.close();
      if (this.framesLink) this.framesLink.close();
      this.framesLink = null;
      this.role = "anonymous";
      this.store.dropFrames();
      this.start(null, negotiated);
    }

    /**
     * Publish one command to `deskpulse/<node>/<setting>/set`; resolves when the broker took it.
     * @param {string} nodeId
     * @param {string} setting
     * @param {string} value
     * @returns {Promise<void>}
     */
    sendCommand(nodeId, setting, value) {
      const link = this.stateLink;
      const client = link && link.connected ? link.client : null;
      if (!client) return Promise.reject(new Error("Not connected to the broker."));
      if (!C.SETTINGS.includes(setting) || !C.NODE_ID_PATTERN.test(nodeId)) {
        return Promise.reject(new Error(`Unknown setting ${setting}.`));
      }
      const topic = `${C.TOPIC_PREFIX}/${nodeId}/${setting}/set`;
      return new Promise((/** @type {(value?: void) => void} */ resolve, reject) => {
        client.publish(topic, String(value), { qos: 1, retain: false }, (error) => {
          if (!error) {
            resolve();
            return;
          }
          if (error.code === NOT_AUTHORIZED) {
            this.role = "viewer";
            this.onChange();
            reject(new Error("This account may view but not change settings. Sign in as a control user."));
          } else {
            reject(new Error(`The broker did not take the command: ${error.message}`));
          }
        });
      });
    }

    /** Status of both links, for the diagnostics panel and tests. */
    describe() {
      return {
        url: this.url,
        state: this.status,
        frames: this.framesStatus,
        frameMode: this.frameMode,
        frameNodes: this.frameNodes,
        protocolVersion: this.protocolVersion,
        user: this.user,
        role: this.role,
      };
    }
  }

  DP.Connection = Connection;
  DP.connectionInternals = { stateFilters, frameFilter, parseTopic };
})((window.DeskPulse = window.DeskPulse || {}));
