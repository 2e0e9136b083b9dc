/* DeskPulse dashboard: the page view. Renders the top bar, alerts, the overview's cards or one node's full
   view (js/panels/), at most once per animation frame; the DOM is built once and then only updated. */
(function (DP) {
  "use strict";

  const F = DP.format;
  const { h, icon, setIcon, setText, setAttr, show } = DP.dom;
  const { nowSeconds, displayPosture } = DP.describe;
  const panels = DP.panels;

  /** @type {Readonly<Record<string, { text: string, icon: string }>>} */
  const CONNECTION_WORDS = Object.freeze({
    connecting: { text: "Connecting…", icon: "i-sync" },
    connected: { text: "Connected", icon: "i-connected" },
    reconnecting: { text: "Reconnecting…", icon: "i-sync" },
    refused: { text: "Sign-in needed", icon: "i-error" },
    error: { text: "Connection error", icon: "i-error" },
  });

  /** @typedef {InstanceType<DeskPulse.Panels["CardView"]>} Card */
  /** @typedef {InstanceType<DeskPulse.Panels["DetailView"]>} Detail */

  class View {
    /**
     * @param {{ store: DeskPulse.Store, connection: DeskPulse.Connection, elements: DeskPulse.ViewElements,
     *   onFocus?: (id: string | null) => void }} options
     */
    constructor({ store, connection, elements, onFocus }) {
      this.store = store;
      this.connection = connection;
      this.el = elements;
      this.onFocus = onFocus || (() => {});
      /** @type {DeskPulse.Route} */
      this.route = { name: "overview" };
      /** @type {Map<string, Card>} */
      this.cards = new Map();
      /** @type {Detail | null} */
      this.detail = null;
      this.scheduled = false;
      /** @type {number | null} */
      this.framesSince = null;
      this.renders = 0;
      /** @type {number | undefined} */
      this.redrawTimer = undefined;
      /** @type {string[]} */
      this.problems = [];
    }

    requestRender() {
      if (this.scheduled) return;
      this.scheduled = true;
      window.requestAnimationFrame(() => {
        this.scheduled = false;
        this.render();
      });
    }

    /** @param {DeskPulse.Route} route */
    setRoute(route) {
      this.route = route;
      this.requestRender();
    }

    render() {
      this.renders += 1;
      const connection = this.connection;
      const frames = connection.framesStatus.state;
      if (frames === "connected" && this.framesSince === null) this.framesSince = nowSeconds();
      if (frames !== "connected") this.framesSince = null;
      /** @type {DeskPulse.RenderContext} */
      const ctx = { connection, framesSince: this.framesSince };
      this.renderHeader();
      this.renderAlerts();
      const nodes = this.store.sortedNodes();
      const route = this.route;
      let focus = null;
      if (route.name === "node") focus = this.store.nodes.get(route.id) || null;
      else if (nodes.length === 1) focus = nodes[0];
      const showingDetail = route.name === "node" || nodes.length === 1;
      this.onFocus(route.name === "node" ? route.id : nodes.length === 1 ? nodes[0].id : null);
      show(this.el.back, route.name === "node" && (nodes.length > 1 || !focus));
      show(this.el.overview, !showingDetail && nodes.length > 1);
      this.renderEmpty(nodes, showingDetail, focus);
      if (!showingDetail) this.renderCards(nodes, ctx);
      else this.clearCards();
      this.renderDetail(showingDetail ? focus : null, ctx);
      this.renderTitle(nodes, focus);
      this.scheduleRedraw();
    }

    /** The skeleton fades by itself: draw again when it must start fading, then every frame until gone. */
    scheduleRedraw() {
      window.clearTimeout(this.redrawTimer);
      const due = this.detail ? this.detail.redrawIn() : null;
      if (due === 0) this.requestRender();
      else if (due !== null) this.redrawTimer = window.setTimeout(() => this.requestRender(), Math.ceil(due * 1000) + 10);
    }

    renderHeader() {
      const status = this.connection.status;
      const words = CONNECTION_WORDS[status.state] || CONNECTION_WORDS.error;
      setAttr(this.el.conn, "data-state", status.state);
      setIcon(this.el.connIcon, words.icon);
      setText(this.el.connText, words.text);
      const version = this.connection.protocolVersion === 4 ? "MQTT 3.1.1" : "MQTT 5";
      setText(this.el.connDetail, status.state === "connected" ? `${this.connection.url} · ${version}` : status.message || this.connection.url || "");
      setAttr(this.el.conn, "title", `${this.connection.url || ""} (${status.state}${status.message ? `: ${status.message}` : ""})`);
      const signedIn = this.connection.signedIn;
      setText(this.el.signin, signedIn ? "Sign out" : "Sign in");
      setAttr(this.el.signin, "data-action", signedIn ? "signout" : "signin");
      /** @type {Record<string, string>} */
      const roles = { viewer: "viewer", control: "control", "control-unconfirmed": "control", checking: "…" };
      setText(this.el.user, signedIn ? `${this.connection.user} (${roles[this.connection.role] || this.connection.role})` : "Read-only");
      const disconnected = status.state !== "connected" && this.store.nodes.size > 0;
      show(this.el.staleNotice, disconnected);
      setText(
        this.el.staleNotice,
        status.state === "refused" ? "The broker refused the connection: sign in to continue. Showing the last known state." : "Reconnecting to the broker: showing the last known state."
      );
      setAttr(document.body, "data-connection", status.state);
    }

    renderAlerts() {
      const active = this.store.sortedNodes().flatMap((record) => (record.alert && !record.alert.dismissed ? [{ record, alert: record.alert }] : []));
      const key = active.map(({ record, alert }) => `${record.id}:${alert.receivedAt}`).join("|");
      if (this.el.alerts.dataset.key === key) return;
      this.el.alerts.dataset.key = key;
      this.el.alerts.replaceChildren(
        ...active.map(({ record, alert }) =>
          h(
            "div",
            { class: "alert-banner", dataset: { node: record.id } },
            icon("i-bad", "alert-icon"),
            h("p", { class: "alert-text" }, h("strong", { text: `${record.name}: ` }), F.eventText(alert.event)),
            h("button", { type: "button", class: "btn btn-ghost", dataset: { action: "dismiss-alert", node: record.id }, text: "Dismiss", "aria-label": `Dismiss the alert for ${record.name}` })
          )
        )
      );
    }

    /**
     * @param {DeskPulse.NodeRecord[]} nodes
     * @param {boolean} showingDetail
     * @param {DeskPulse.NodeRecord | null} focus
     */
    renderEmpty(nodes, showingDetail, focus) {
      const empty = this.el.empty;
      let title = "";
      let text = "";
      const status = this.connection.status.state;
      if (this.problems.length && !this.connection.url) {
        title = "The page address needs fixing";
        text = this.problems.join(" ");
      } else if (showingDetail && !focus) {
        title = `No node called “${this.route.name === "node" ? this.route.id : ""}” has published`;
        text = "It may be stopped, or its retained topics were cleared.";
      } else if (!nodes.length) {
        if (status === "connected") {
          title = "Waiting for DeskPulse nodes";
          const filter = this.connection.nodes.length ? ` (showing only ${this.connection.nodes.join(", ")})` : "";
          text = `Connected to ${this.connection.url}, but no node has published yet${filter}. Start one with: deskpulse-edge --broker mqtt://<this broker>:1883`;
        } else if (status === "refused") {
          title = "This broker needs sign-in";
          text = "It does not let anonymous viewers in. Sign in with a viewer or control account.";
        } else if (status === "error") {
          title = "Cannot connect to the broker";
          text = `${this.connection.status.message} Is the broker running with a WebSockets listener? Set ?broker=ws://host:port in the page address to use another.`;
        } else {
          title = status === "reconnecting" ? "Reconnecting to the broker…" : "Connecting to the broker…";
          text = `Trying ${this.connection.url}. Is the broker running with a WebSockets listener? Set ?broker=ws://host:port in the page address to use another.`;
        }
      }
      show(empty, Boolean(title));
      setText(this.el.emptyTitle, title);
      setText(this.el.emptyText, text);
      show(this.el.emptySignin, status === "refused" && !nodes.length);
    }

    /**
     * @param {DeskPulse.NodeRecord[]} nodes
     * @param {DeskPulse.RenderContext} ctx
     */
    renderCards(nodes, ctx) {
      const seen = new Set();
      /** @type {Element | null} */
      let previous = null;
      for (const record of nodes) {
        seen.add(record.id);
        let card = this.cards.get(record.id);
        if (!card) {
          card = new panels.CardView(record);
          this.cards.set(record.id, card);
        }
        card.update(record, ctx);
        /** @type {ChildNode | null} */
        const expected = previous ? previous.nextSibling : this.el.grid.firstChild;
        if (expected !== card.el) this.el.grid.insertBefore(card.el, expected);
        previous = card.el;
      }
      for (const [id, card] of this.cards) {
        if (!seen.has(id)) {
          card.destroy();
          card.el.remove();
          this.cards.delete(id);
        }
      }
    }

    clearCards() {
      for (const card of this.cards.values()) {
        card.destroy();
        card.el.remove();
      }
      this.cards.clear();
    }

    /**
     * @param {DeskPulse.NodeRecord | null} record
     * @param {DeskPulse.RenderContext} ctx
     */
    renderDetail(record, ctx) {
      if (this.detail && (!record || this.detail.id !== record.id)) {
        this.detail.destroy();
        this.detail.el.remove();
        this.detail = null;
      }
      if (!record) return;
      if (!this.detail) {
        this.detail = new panels.DetailView(record);
        this.el.detail.append(this.detail.el);
      }
      this.detail.update(record, ctx);
    }

    /**
     * @param {DeskPulse.NodeRecord[]} nodes
     * @param {DeskPulse.NodeRecord | null} focus
     */
    renderTitle(nodes, focus) {
      let title = "DeskPulse";
      if (focus) {
        title = `${F.postureMeta(displayPosture(focus)).short} · ${focus.name} · DeskPulse`;
      } else if (nodes.length) {
        const alerts = nodes.filter((r) => r.alert && !r.alert.dismissed).length;
        title = `${alerts ? `${alerts} alert${alerts > 1 ? "s" : ""} · ` : ""}${nodes.length} desks · DeskPulse`;
      }
      if (document.title !== title) document.title = title;
    }

    focusTitle() {
      if (this.detail) this.detail.title.focus();
    }
  }

  DP.View = View;
})((window.DeskPulse = window.DeskPulse || {}));
