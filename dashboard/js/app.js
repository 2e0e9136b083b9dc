/* DeskPulse dashboard: wiring. Reads the page URL, builds the store, the connection and the view, and
   handles what a person does: routes, sign-in, controls, alerts and notifications. */
(function (DP) {
  "use strict";

  const C = DP.constants;
  const F = DP.format;

  /**
   * An element of index.html; a missing one (or one of another kind) is a bug in the page.
   * @template {HTMLElement} [T=HTMLElement]
   * @param {string} id
   * @param {{ new (): T, prototype: T }} [type]
   * @returns {T}
   */
  function byId(id, type) {
    const el = document.getElementById(id);
    if (!el || (type && !(el instanceof type))) throw new Error(`index.html lacks #${id}`);
    return /** @type {T} */ (el);
  }

  /**
   * `#/node/<id>` opens one node; anything else is the overview.
   * @param {string} hash
   * @returns {DeskPulse.Route}
   */
  function parseRoute(hash) {
    const match = /^#\/node\/([^/?#]+)$/.exec(hash || "");
    if (match) {
      const id = decodeURIComponent(match[1]);
      if (C.NODE_ID_PATTERN.test(id)) return { name: "node", id };
    }
    return { name: "overview" };
  }

  /**
   * Credentials this tab kept, with the broker address they were given for.
   * @returns {DeskPulse.StoredCredentials | null}
   */
  function loadStoredCredentials() {
    try {
      const raw = window.sessionStorage.getItem(C.CREDENTIALS_KEY);
      if (!raw) return null;
      const value = JSON.parse(raw);
      return typeof value.user === "string" && typeof value.password === "string" && typeof value.broker === "string" ? value : null;
    } catch (_error) {
      return null;
    }
  }

  /** @param {DeskPulse.StoredCredentials | null} credentials */
  function storeCredentials(credentials) {
    try {
      if (credentials) window.sessionStorage.setItem(C.CREDENTIALS_KEY, JSON.stringify(credentials));
      else window.sessionStorage.removeItem(C.CREDENTIALS_KEY);
    } catch (_error) {
      /* storage may be disabled; credentials then stay in memory only */
    }
  }

  class App {
    constructor() {
      this.options = DP.config.parseParams(window.location);
      this.store = new DP.Store();
      const connIcon = byId("conn").querySelector("svg");
      if (!connIcon) throw new Error("index.html lacks the connection icon");
      /**
       * @type {DeskPulse.ViewElements & { notify: HTMLButtonElement, announcer: HTMLElement, problems: HTMLElement,
       *   dialog: HTMLDialogElement, form: HTMLFormElement, formUser: HTMLInputElement, formPassword: HTMLInputElement,
       *   formRemember: HTMLInputElement, formError: HTMLElement, formSubmit: HTMLButtonElement, insecure: HTMLElement,
       *   insecureText: HTMLElement, insecureConfirm: HTMLElement }}
       */
      this.elements = {
        conn: byId("conn"),
        connIcon,
        connText: byId("conn-text"),
        connDetail: byId("conn-detail"),
        signin: byId("signin-btn", HTMLButtonElement),
        user: byId("user-label"),
        notify: byId("notify-btn", HTMLButtonElement),
        alerts: byId("alerts"),
        staleNotice: byId("stale-notice"),
        back: byId("back"),
        overview: byId("overview"),
        grid: byId("grid"),
        detail: byId("detail"),
        empty: byId("empty"),
        emptyTitle: byId("empty-title"),
        emptyText: byId("empty-text"),
        emptySignin: byId("empty-signin"),
        announcer: byId("announcer"),
        problems: byId("problems"),
        dialog: byId("signin-dialog", HTMLDialogElement),
        form: byId("signin-form", HTMLFormElement),
        formUser: byId("signin-user", HTMLInputElement),
        formPassword: byId("signin-password", HTMLInputElement),
        formRemember: byId("signin-remember", HTMLInputElement),
        formError: byId("signin-error"),
        formSubmit: byId("signin-submit", HTMLButtonElement),
        insecure: byId("signin-insecure"),
        insecureText: byId("signin-insecure-text"),
        insecureConfirm: byId("signin-insecure-confirm"),
      };
      // Plain ws:// to another machine: the dialog warns, and the password leaves only after "Send anyway".
      this.exposesPassword = DP.config.exposesPassword(this.options.brokerUrl);
      this.sendAnyway = false;
      this.connection = new DP.Connection({
        url: this.options.brokerUrl,
        nodes: this.options.nodes,
        frames: this.options.frames,
        protocolVersion: this.options.protocolVersion,
        store: this.store,
        onChange: () => view.requestRender(),
      });
      const view = new DP.View({
        store: this.store,
        connection: this.connection,
        elements: this.elements,
        onFocus: (id) => this.connection.watchFrames(id ? [id] : []),
      });
      this.view = view;
      this.view.problems = this.options.problems;
      /** @type {Map<string, number>} */
      this.commandTimers = new Map();
    }

    start() {
      this.showProblems();
      this.store.onChange(() => this.view.requestRender());
      this.store.onEvent((record, event) => this.onNodeEvent(record, event));
      this.store.onPosture((record, previous, state) => this.announcePosture(record, previous, state));
      this.bindEvents();
      this.view.setRoute(parseRoute(window.location.hash));
      this.updateNotifyButton();
      window.setInterval(() => this.view.requestRender(), C.TICK_MS);
      if (!this.options.brokerUrl) {
        this.view.requestRender();
        return;
      }
      const stored = loadStoredCredentials();
      this.connection.start(null);
      // Kept credentials go only to the broker they were given for (the page address may name another).
      if (stored && stored.broker === this.options.brokerUrl) {
        this.signIn(stored.user, stored.password, true).catch(() => storeCredentials(null));
      } else if (stored) {
        storeCredentials(null);
        if (this.options.user) this.openSignIn();
      } else if (this.options.user) {
        this.openSignIn();
      }
    }

    showProblems() {
      const problems = this.options.problems;
      this.elements.problems.hidden = problems.length === 0;
      this.elements.problems.textContent = problems.join(" ");
    }

    bindEvents() {
      window.addEventListener("hashchange", () => {
        this.view.setRoute(parseRoute(window.location.hash));
        window.requestAnimationFrame(() => window.requestAnimationFrame(() => this.view.focusTitle()));
      });
      document.addEventListener("click", (event) => this.onClick(event));
      document.addEventListener("change", (event) => this.onChange(event));
      document.addEventListener("submit", (event) => this.onSubmit(event));
      this.elements.dialog.addEventListener("close", () => {
        this.elements.formPassword.value = "";
        this.sendAnyway = false;
      });
      document.addEventListener("visibilitychange", () => this.view.requestRender());
    }

    /** @param {MouseEvent} event */
    onClick(event) {
      const target = event.target instanceof Element ? event.target.closest("[data-action]") : null;
      if (!(target instanceof HTMLElement)) return;
      if (target.tagName === "FORM" || target.tagName === "INPUT") return;
      const action = target.dataset.action;
      const node = target.dataset.node || "";
      if (action === "signin") this.openSignIn();
      else if (action === "signout") this.signOut();
      else if (action === "cancel-signin") this.elements.dialog.close();
      else if (action === "notify") this.requestNotifications();
      else if (action === "dismiss-alert") this.store.dismissAlert(node);
      else if (action === "toggle") {
        const setting = target.dataset.setting || "";
        const record = this.store.nodes.get(node);
        const current = record && record.settings[setting];
        this.command(node, setting, current && current.value === "ON" ? "OFF" : "ON");
      } else if (action === "calibrate") this.command(node, "calibrate", "PRESS");
    }

    /** @param {Event} event */
    onChange(event) {
      const target = event.target;
      if (target instanceof HTMLInputElement && target.dataset.action === "sensitivity" && target.checked) {
        this.command(target.dataset.node || "", "sensitivity", target.value);
      } else if (target instanceof HTMLSelectElement && target.dataset.action === "rotation" && C.ROTATIONS.includes(Number(target.value))) {
        this.command(target.dataset.node || "", "rotation", target.value);
      }
    }

    /** @param {SubmitEvent} event */
    onSubmit(event) {
      const form = event.target;
      if (!(form instanceof HTMLFormElement)) return;
      if (form === this.elements.form) {
        event.preventDefault();
        this.submitSignIn();
        return;
      }
      const setting = form.dataset.setting;
      if (form.dataset.action === "number" && (setting === "alert_minutes" || setting === "cpu_budget")) {
        event.preventDefault();
        const input = form.querySelector("input");
        if (!input) return;
        const limits = C.NUMBERS[setting];
        const value = Number(input.value);
        const node = form.dataset.node || "";
        if (!input.value.trim() || !Number.isFinite(value) || value < limits.min || value > limits.max) {
          this.store.setCommand(node, setting, {
            status: "error",
            message: `Enter ${limits.unit} from ${limits.min} to ${limits.max}.`,
          });
          input.setAttribute("aria-invalid", "true");
          input.focus();
          return;
        }
        input.removeAttribute("aria-invalid");
        this.command(node, setting, String(value));
      }
    }

    // ------------------------------------------------------------------ commands

    /**
     * Send a command and follow it: sending → waiting for the node → done (its `…/state`), or an error.
     * @param {string} nodeId
     * @param {string} setting
     * @param {string} value
     */
    command(nodeId, setting, value) {
      if (!this.connection.canControl) return;
      this.store.setCommand(nodeId, setting, { status: "sending", message: "", value });
      const key = `${nodeId}/${setting}`;
      window.clearTimeout(this.commandTimers.get(key));
      this.connection
        .sendCommand(nodeId, setting, value)
        .then(() => {
          const record = this.store.nodes.get(nodeId);
          if (record && record.commands[setting] && record.commands[setting].status === "sending") {
            this.store.setCommand(nodeId, setting, { status: "sent", message: "", value });
          }
          this.commandTimers.set(
            key,
            window.setTimeout(() => {
              const latest = this.store.nodes.get(nodeId);
              const pending = latest && latest.commands[setting];
              if (pending && (pending.status === "sent" || pending.status === "sending")) {
                this.store.setCommand(nodeId, setting, { status: "error", message: "No answer from the node. Is it online?" });
              }
            }, C.COMMAND_TIMEOUT_MS)
          );
        })
        .catch((error) => this.store.setCommand(nodeId, setting, { status: "error", message: String(error.message || error) }));
    }

    // ------------------------------------------------------------------ sign-in

    openSignIn() {
      const el = this.elements;
      el.formError.textContent = "";
      el.formError.hidden = true;
      if (!el.formUser.value && this.options.user) el.formUser.value = this.options.user;
      this.showInsecure();
      if (!el.dialog.open) el.dialog.showModal();
      (el.formUser.value ? el.formPassword : el.formUser).focus();
    }

    /** The warning about a plain ws:// broker on another machine, and the submit button's words. */
    showInsecure() {
      const el = this.elements;
      el.insecure.hidden = !this.exposesPassword;
      el.insecureText.textContent = this.exposesPassword
        ? `This page talks to ${this.options.brokerUrl} over plain ws://, so your password would cross the network readable by anyone on it. Use the broker's wss:// address (see docs/mosquitto.md, "The dashboard over TLS").`
        : "";
      const confirming = this.exposesPassword && this.sendAnyway;
      el.insecureConfirm.hidden = !confirming;
      el.insecureConfirm.textContent = confirming ? "The password leaves this page only when you press Send anyway. Or Cancel, and open the dashboard with a wss:// broker address." : "";
      el.formSubmit.textContent = confirming ? "Send anyway" : "Sign in";
      // Sending unencrypted is allowed, not encouraged: the button loses its primary look.
      el.formSubmit.classList.toggle("btn-primary", !confirming);
    }

    submitSignIn() {
      const el = this.elements;
      const user = el.formUser.value.trim();
      const password = el.formPassword.value;
      if (!user) {
        this.showSignInError("Enter the broker user name.");
        el.formUser.focus();
        return;
      }
      if (this.exposesPassword && !this.sendAnyway) {
        // The first press only asks: the password leaves the page on a deliberate second one.
        this.sendAnyway = true;
        this.showInsecure();
        el.formSubmit.focus();
        return;
      }
      el.formSubmit.disabled = true;
      el.formSubmit.textContent = "Signing in…";
      el.formError.hidden = true;
      this.signIn(user, password, el.formRemember.checked)
        .then(() => el.dialog.close())
        .catch((error) => {
          this.showSignInError(error.message);
          el.formPassword.select();
          el.formPassword.focus();
        })
        .finally(() => {
          el.formSubmit.disabled = false;
          this.showInsecure();
        });
    }

    /** @param {string} message */
    showSignInError(message) {
      this.elements.formError.textContent = message;
      this.elements.formError.hidden = false;
    }

    /**
     * @param {string} user
     * @param {string} password
     * @param {boolean} remember keep the credentials in sessionStorage
     */
    signIn(user, password, remember) {
      return this.connection.signIn(user, password).then(() => {
        const broker = this.options.brokerUrl || "";
        storeCredentials(remember ? { user, password, broker } : null);
        this.announce(`Signed in as ${user}.`);
      });
    }

    signOut() {
      storeCredentials(null);
      this.connection.signOut();
      this.announce("Signed out. The camera picture and controls are hidden.");
    }

    // ------------------------------------------------------------------ alerts, notifications, announcements

    /** @param {string} text what a screen reader says */
    announce(text) {
      const el = this.elements.announcer;
      el.textContent = "";
      window.setTimeout(() => {
        el.textContent = text;
      }, 50);
    }

    /**
     * @param {DeskPulse.NodeRecord} record
     * @param {string | null} previous
     * @param {PostureState} state
     */
    announcePosture(record, previous, state) {
      if (previous === null) return;
      const meta = F.postureMeta(state.posture);
      this.announce(`${record.name}: ${meta.label}${state.reason ? `, ${state.reason}` : ""}.`);
    }

    /**
     * @param {DeskPulse.NodeRecord} record
     * @param {EventPayload} event
     */
    onNodeEvent(record, event) {
      const type = event.event_type;
      if (type === "posture_alert" || type === "daily_summary") {
        this.notify(record, type === "posture_alert" ? `${record.name}: sit up` : `${record.name}: daily summary`, F.eventText(event));
      }
      if (type === "daily_summary" || type === "calibrated" || type === "calibration_failed") {
        this.announce(`${record.name}: ${F.eventText(event)}`);
      }
    }

    /**
     * @param {DeskPulse.NodeRecord} record
     * @param {string} title
     * @param {string} body
     */
    notify(record, title, body) {
      if (!("Notification" in window) || Notification.permission !== "granted") return;
      try {
        const note = new Notification(title, { body, tag: `deskpulse-${record.id}` });
        note.onclick = () => {
          window.focus();
          window.location.hash = `#/node/${record.id}`;
        };
      } catch (error) {
        console.warn("DeskPulse: notification failed: %s", error instanceof Error ? error.message : error);
      }
    }

    requestNotifications() {
      if (!("Notification" in window)) return;
      Promise.resolve(Notification.requestPermission()).then(() => this.updateNotifyButton());
    }

    updateNotifyButton() {
      const button = this.elements.notify;
      if (!("Notification" in window)) {
        button.hidden = true;
        return;
      }
      const permission = Notification.permission;
      button.hidden = false;
      button.disabled = permission !== "default";
      const words = button.querySelector("span");
      if (words) {
        words.textContent = permission === "granted" ? "Desktop alerts on" : permission === "denied" ? "Desktop alerts blocked" : "Enable desktop alerts";
      }
      button.setAttribute("aria-pressed", permission === "granted" ? "true" : "false");
    }
  }

  function boot() {
    if (typeof window.mqtt === "undefined") {
      byId("empty").hidden = false;
      byId("empty-title").textContent = "MQTT.js is missing";
      byId("empty-text").textContent =
        "The page could not load node_modules/mqtt/dist/mqtt.min.js. Run scripts/install.sh on the machine that serves this folder.";
      return;
    }
    const app = new App();
    DP.app = app;
    DP.store = app.store;
    DP.connection = app.connection;
    DP.view = app.view;
    app.start();
  }

  DP.parseRoute = parseRoute;
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})((window.DeskPulse = window.DeskPulse || {}));
