/* DeskPulse dashboard: rendering. Builds each node's DOM once, then only updates text and attributes,
   at most once per animation frame, so focus, scroll and layout stay put while data flows. */
(function (DP) {
  "use strict";

  const C = DP.constants;
  const F = DP.format;
  const SVG_NS = "http://www.w3.org/2000/svg";
  // A frame box shows a "waiting" text this long before it says that a picture needs sign-in.
  const FRAME_GRACE_S = 4;
  const COMMAND_DONE_VISIBLE_S = 4;
  const HISTORY_DAYS = 7;

  // ------------------------------------------------------------------ tiny DOM helpers

  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") el.className = value;
      else if (key === "text") el.textContent = value;
      else if (key === "dataset") Object.assign(el.dataset, value);
      else el.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined && child !== false) el.append(child);
    }
    return el;
  }

  function icon(id, className) {
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("class", `icon ${className || ""}`.trim());
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const use = document.createElementNS(SVG_NS, "use");
    use.setAttribute("href", `#${id}`);
    svg.append(use);
    return svg;
  }

  function setIcon(svg, id) {
    const use = svg.firstChild;
    if (use.getAttribute("href") !== `#${id}`) use.setAttribute("href", `#${id}`);
  }

  function setText(el, text) {
    const value = text === null || text === undefined ? "" : String(text);
    if (el.textContent !== value) el.textContent = value;
  }

  function setAttr(el, name, value) {
    if (value === null || value === undefined || value === false) {
      if (el.hasAttribute(name)) el.removeAttribute(name);
    } else {
      const text = value === true ? "" : String(value);
      if (el.getAttribute(name) !== text) el.setAttribute(name, text);
    }
  }

  function show(el, visible) {
    if (el.hidden === visible) el.hidden = !visible;
  }

  function nowSeconds() {
    return Date.now() / 1000;
  }

  // ------------------------------------------------------------------ what a node looks like right now

  /** The posture a person should see: offline and "waiting" win over a last known verdict. */
  function displayPosture(record) {
    if (record.offline) return "offline";
    if (!record.state) return "waiting";
    return record.state.posture;
  }

  function statusLine(record) {
    const state = record.state;
    if (record.offline) {
      if (!state) return "The node is not running.";
      return `Last seen ${F.postureMeta(state.posture).short.toLowerCase()}, ${F.ago(record.stateAge())}.`;
    }
    if (!state) return "No posture published yet.";
    if (state.reason) return F.capitalise(state.reason);
    if (state.posture === "good") return "Nice and upright.";
    if (state.posture === "away") return "Nobody at the desk.";
    return "";
  }

  function sinceText(record) {
    const state = record.state;
    if (!state || record.offline || !Number.isFinite(state.since)) return "";
    return `for ${F.duration(record.nodeNow() - state.since)}`;
  }

  function updatedText(record) {
    const age = record.stateAge();
    if (age === null) return "No update yet";
    return record.stale ? `Stale: last update ${F.ago(age)}` : `Updated ${F.ago(age)}`;
  }

  function settingValue(record, name) {
    const entry = record.settings[name];
    return entry ? entry.value : null;
  }

  /** Whether the live frame may be shown, and if not, a sentence saying why. */
  function frameSituation(record, connection, framesSince) {
    const monitoring = settingValue(record, "monitoring");
    const frames = settingValue(record, "frames");
    const frame = record.frame;
    if (record.offline) return { show: false, why: "The node is offline: no live picture." };
    if (monitoring === "OFF" || (record.state && record.state.posture === "paused")) {
      return { show: false, why: "Monitoring is off: the camera is released." };
    }
    if (frames === "OFF") return { show: false, why: "The camera picture is turned off on this node." };
    if (frame) {
      const age = nowSeconds() - frame.receivedAt;
      if (age <= record.frameStaleAfter()) return { show: true, why: "" };
      return { show: false, why: `No new picture for ${F.duration(age)}.` };
    }
    if (record.camera && record.camera.state === "disconnected") {
      return { show: false, why: "No picture: the camera is disconnected." };
    }
    const status = connection.framesStatus.state;
    if (status !== "connected") {
      return { show: false, why: status === "refused" ? "Sign in to see the camera picture." : "Connecting for the picture…" };
    }
    if (!connection.signedIn && framesSince !== null && nowSeconds() - framesSince > FRAME_GRACE_S) {
      return {
        show: false,
        why: "On a secured broker the camera picture is for signed-in viewers only. Sign in to see it.",
        signIn: true,
      };
    }
    return { show: false, why: "Waiting for the camera picture…" };
  }

  // ------------------------------------------------------------------ the frame box

  class FrameBox {
    constructor(record) {
      this.version = null;
      this.img = h("img", { class: "frame-img", alt: `Live camera picture of ${record.name}`, hidden: true, decoding: "async" });
      this.why = h("p", { class: "frame-why" });
      this.signIn = h("button", { type: "button", class: "btn btn-primary", dataset: { action: "signin" }, text: "Sign in", hidden: true });
      this.placeholder = h("div", { class: "frame-placeholder" }, icon("i-camera-off", "frame-placeholder-icon"), this.why, this.signIn);
      this.age = h("span", { class: "frame-age", hidden: true });
      this.el = h("div", { class: "frame-box" }, this.img, this.placeholder, this.age);
      this.img.addEventListener("load", () => this.release());
      this.img.addEventListener("error", () => {
        this.release();
        if (this.img.getAttribute("src")) {
          this.img.removeAttribute("src");
          this.failed = true;
        }
      });
      this.failed = false;
      this.url = null;
    }

    release() {
      if (this.url) {
        URL.revokeObjectURL(this.url);
        this.url = null;
      }
    }

    update(record, connection, framesSince) {
      const situation = frameSituation(record, connection, framesSince);
      const frame = record.frame;
      if (situation.show && frame && frame.version !== this.version) {
        this.version = frame.version;
        this.failed = false;
        this.release();
        this.url = URL.createObjectURL(frame.blob);
        this.img.src = this.url;
      }
      if (!situation.show && this.img.getAttribute("src")) {
        this.release();
        this.img.removeAttribute("src");
        this.version = null;
      }
      const visible = situation.show && !this.failed;
      show(this.img, visible);
      show(this.placeholder, !visible);
      setText(this.why, this.failed ? "The picture could not be decoded." : situation.why);
      show(this.signIn, Boolean(situation.signIn));
      setAttr(this.img, "alt", `Live camera picture of ${record.name}`);
      show(this.age, visible);
      if (visible) setText(this.age, F.ago(nowSeconds() - frame.receivedAt));
    }

    destroy() {
      this.release();
    }
  }

  // ------------------------------------------------------------------ status block

  class StatusBlock {
    constructor({ large }) {
      this.icon = icon("i-unknown", "status-icon");
      this.word = h("p", { class: "status-word" });
      this.reason = h("p", { class: "status-reason" });
      this.since = h("span", { class: "status-since" });
      this.updated = h("span", { class: "status-updated" });
      this.badge = h("span", { class: "badge", hidden: true });
      this.el = h(
        "div",
        { class: `status${large ? " status-large" : ""}`, dataset: { posture: "waiting" } },
        h("span", { class: "status-icon-wrap" }, this.icon),
        h("div", { class: "status-text" }, this.word, this.reason, h("p", { class: "status-meta" }, this.since, this.updated, this.badge))
      );
    }

    update(record) {
      const posture = displayPosture(record);
      const meta = F.postureMeta(posture);
      setAttr(this.el, "data-posture", posture);
      setIcon(this.icon, meta.icon);
      setText(this.word, meta.label);
      setText(this.reason, statusLine(record));
      setText(this.since, sinceText(record));
      setText(this.updated, updatedText(record));
      setAttr(this.el, "data-stale", record.stale ? "true" : null);
      show(this.badge, record.stale);
      setText(this.badge, record.stale ? "Stale" : "");
    }
  }

  // ------------------------------------------------------------------ overview card

  /** A card in the overview. No camera picture here: frames flow only for the node in the full view. */
  class CardView {
    constructor(record) {
      this.id = record.id;
      this.title = h("h2", { class: "card-title" });
      this.nodeId = h("span", { class: "card-id" });
      this.status = new StatusBlock({ large: false });
      this.score = h("span", { class: "card-score" });
      this.camera = h("span", { class: "card-camera" });
      this.alert = h("span", { class: "badge badge-alert", hidden: true }, icon("i-bad"), " Alert");
      this.link = h(
        "a",
        { class: "card-link", href: `#/node/${encodeURIComponent(record.id)}` },
        h("div", { class: "card-head" }, this.title, this.nodeId),
        this.status.el,
        h("div", { class: "card-foot" }, h("span", { class: "card-facts" }, this.score, this.camera), this.alert)
      );
      this.el = h("li", { class: "card" }, this.link);
    }

    update(record, ctx) {
      setText(this.title, record.name);
      setText(this.nodeId, record.name === record.id ? "" : record.id);
      setAttr(this.el, "data-posture", displayPosture(record));
      const reason = statusLine(record);
      setAttr(this.link, "aria-label", `${record.name}: ${F.postureMeta(displayPosture(record)).label}. ${reason} Open the full view.`);
      this.status.update(record);
      const today = record.stats && record.stats.today;
      setText(this.score, today ? `Today: score ${F.percent(today.score)}` : "Today: not available");
      const camera = record.camera && record.camera.state;
      setText(this.camera, camera && camera !== "connected" && !record.offline ? F.cameraMeta(camera).label : "");
      show(this.alert, Boolean(record.alert && !record.alert.dismissed));
    }

    destroy() {}
  }

  // ------------------------------------------------------------------ detail panels

  function panel(title, ...children) {
    const heading = h("h2", { class: "panel-title", text: title });
    return { el: h("section", { class: "panel" }, heading, ...children), heading };
  }

  class TodayPanel {
    constructor() {
      this.empty = h("p", { class: "quiet", text: "Not available yet: the node has not published today's totals." });
      this.score = h("p", { class: "today-score" });
      this.goal = h("p", { class: "quiet today-goal" });
      this.good = h("dd");
      this.bad = h("dd");
      this.away = h("dd");
      this.alerts = h("dd");
      this.body = h(
        "div",
        { class: "today-body" },
        h("div", { class: "today-score-wrap" }, this.score, this.goal),
        h(
          "dl",
          { class: "tiles" },
          h("div", { class: "tile", dataset: { posture: "good" } }, h("dt", {}, icon("i-good"), " Good"), this.good),
          h("div", { class: "tile", dataset: { posture: "bad" } }, h("dt", {}, icon("i-bad"), " Bad"), this.bad),
          h("div", { class: "tile", dataset: { posture: "away" } }, h("dt", {}, icon("i-away"), " Away"), this.away),
          h("div", { class: "tile" }, h("dt", {}, icon("i-bell"), " Alerts"), this.alerts)
        )
      );
      this.panel = panel("Today", this.empty, this.body);
      this.el = this.panel.el;
    }

    update(record) {
      const today = record.stats && record.stats.today;
      show(this.empty, !today);
      show(this.body, Boolean(today));
      if (!today) return;
      setText(this.score, Number.isFinite(today.score) ? `Score ${F.percent(today.score)}` : "Score –");
      const goal = record.history && Number.isFinite(record.history.goal) ? record.history.goal : null;
      setText(this.goal, Number.isFinite(today.score) ? (goal !== null ? `goal ${F.percent(goal)}` : "") : "No sitting time yet today");
      setText(this.good, F.totalMinutes(today.good_s));
      setText(this.bad, F.totalMinutes(today.bad_s));
      setText(this.away, F.totalMinutes(today.away_s));
      setText(this.alerts, String(Number.isFinite(today.alerts) ? today.alerts : 0));
    }
  }

  class HistoryPanel {
    constructor() {
      this.empty = h("p", { class: "quiet", text: "Not available yet: the node has not published its history." });
      this.trend = h("p", { class: "history-trend" });
      this.list = h("ol", { class: "history-list" });
      this.legend = h(
        "p",
        { class: "legend", "aria-hidden": "true" },
        h("span", { class: "legend-item", dataset: { posture: "good" } }, h("span", { class: "swatch" }), "Good"),
        h("span", { class: "legend-item", dataset: { posture: "bad" } }, h("span", { class: "swatch" }), "Bad"),
        h("span", { class: "legend-item", dataset: { posture: "away" } }, h("span", { class: "swatch" }), "Away")
      );
      this.body = h("div", {}, this.trend, this.list, this.legend);
      this.panel = panel("Last 7 days", this.empty, this.body);
      this.el = this.panel.el;
      this.key = "";
    }

    update(record) {
      const history = record.history;
      const days = history ? history.days.slice(-HISTORY_DAYS) : [];
      show(this.empty, !days.length);
      show(this.body, days.length > 0);
      if (!days.length) return;
      const trend = F.TRENDS[history.trend] || F.capitalise(String(history.trend || ""));
      const streak = Number.isFinite(history.streak_days) && history.streak_days > 0 ? ` · ${history.streak_days}-day streak at goal` : "";
      setText(this.trend, `Trend: ${trend}${streak}`);
      const key = JSON.stringify(days);
      if (key === this.key) return;
      this.key = key;
      const most = Math.max(1, ...days.map((d) => (d.good_s || 0) + (d.bad_s || 0) + (d.away_s || 0)));
      const rows = days.map((day) => {
        const parts = [
          ["good", day.good_s || 0],
          ["bad", day.bad_s || 0],
          ["away", day.away_s || 0],
        ];
        const label = `${F.dayLabel(day.date)}: ${F.totalMinutes(day.good_s || 0)} good, ${F.totalMinutes(day.bad_s || 0)} bad, ${F.totalMinutes(day.away_s || 0)} away, score ${F.percent(day.score)}`;
        const bar = h(
          "span",
          { class: "bar", "aria-hidden": "true" },
          parts.filter(([, s]) => s > 0).map(([name, s]) => h("span", { class: "bar-part", dataset: { posture: name }, style: `width:${((100 * s) / most).toFixed(2)}%` }))
        );
        return h(
          "li",
          { class: "history-row", "aria-label": label, title: label },
          h("span", { class: "history-day", "aria-hidden": "true", text: F.dayLabel(day.date) }),
          bar,
          h("span", { class: "history-score", "aria-hidden": "true", text: F.percent(day.score) })
        );
      });
      this.list.replaceChildren(...rows);
    }
  }

  class CameraPanel {
    constructor() {
      this.empty = h("p", { class: "quiet", text: "Not available yet." });
      this.icon = icon("i-camera", "camera-icon");
      this.state = h("p", { class: "camera-state" });
      this.detail = h("p", { class: "quiet camera-detail" });
      this.error = h("p", { class: "camera-error" });
      this.hint = h("p", { class: "camera-hint" });
      this.body = h("div", { class: "camera-body" }, h("div", { class: "camera-line" }, this.icon, this.state), this.detail, this.error, this.hint);
      this.panel = panel("Camera", this.empty, this.body);
      this.el = this.panel.el;
    }

    update(record) {
      const camera = record.camera;
      show(this.empty, !camera);
      show(this.body, Boolean(camera));
      if (!camera) return;
      const meta = F.cameraMeta(camera.state);
      setAttr(this.body, "data-camera", camera.state);
      setIcon(this.icon, meta.icon);
      setText(this.state, meta.label);
      const bits = [];
      if (camera.source) bits.push(camera.source);
      if (Array.isArray(camera.resolution)) bits.push(`${camera.resolution[0]}×${camera.resolution[1]}`);
      if (Number.isFinite(camera.fps)) bits.push(`${Math.round(camera.fps)} fps`);
      setText(this.detail, bits.join(" · "));
      const error = camera.error;
      show(this.error, Boolean(error));
      show(this.hint, Boolean(error && error.hint));
      if (error) {
        let retry = "";
        if (Number.isFinite(camera.retry_at)) {
          const wait = camera.retry_at - record.nodeNow();
          retry = wait > 0 ? ` Next try in ${F.duration(wait)}.` : " Retrying now.";
        }
        setText(this.error, `${F.sentence(error.message)}${retry}`);
        setText(this.hint, error.hint ? `How to fix: ${error.hint}` : "");
      }
    }
  }

  const SETTING_LABELS = Object.freeze({
    monitoring: "Monitoring",
    frames: "Camera picture",
    alert_minutes: "Alert after",
    sensitivity: "Sensitivity",
    calibrate: "Calibration",
  });

  function settingWords(name, value) {
    if (value === null) return "not available";
    if (name === "monitoring") return value === "ON" ? "On" : value === "OFF" ? "Off (camera released)" : value;
    if (name === "frames") return value === "ON" ? "On" : value === "OFF" ? "Off" : value;
    if (name === "alert_minutes") return `${value} min of bad posture`;
    if (name === "calibrate") return { calibrated: "Calibrated", uncalibrated: "Not calibrated", calibrating: "Calibrating…" }[value] || value;
    return F.capitalise(value);
  }

  function commandText(command) {
    if (!command) return "";
    const age = nowSeconds() - command.at;
    if (command.status === "sending") return "Sending…";
    if (command.status === "sent") return "Waiting for the node…";
    if (command.status === "done") return age < COMMAND_DONE_VISIBLE_S ? "Done" : "";
    if (command.status === "error") return command.message;
    return "";
  }

  class SettingsPanel {
    constructor(record) {
      const id = record.id;
      this.id = id;
      this.readonly = h("dl", { class: "settings-list" });
      this.readonlyValues = {};
      for (const name of C.SETTINGS) {
        this.readonlyValues[name] = h("dd");
        this.readonly.append(h("div", { class: "settings-row" }, h("dt", { text: SETTING_LABELS[name] }), this.readonlyValues[name]));
      }
      this.note = h("p", { class: "quiet settings-note" });
      this.noteButton = h("button", { type: "button", class: "btn", dataset: { action: "signin" }, text: "Sign in", hidden: true });
      this.controls = this.buildControls(id);
      this.panel = panel("Settings", this.controls, this.readonly, h("div", { class: "settings-foot" }, this.note, this.noteButton));
      this.el = this.panel.el;
    }

    buildControls(id) {
      const statusFor = (name) => h("p", { class: "control-status", role: "status", id: `st-${id}-${name}` });
      this.status = {};
      const switchFor = (name, label) => {
        const labelId = `lb-${id}-${name}`;
        const text = h("span", { class: "switch-text" });
        const button = h(
          "button",
          { type: "button", class: "switch", role: "switch", "aria-checked": "false", "aria-labelledby": labelId, "aria-describedby": `st-${id}-${name}`, dataset: { action: "toggle", node: id, setting: name } },
          h("span", { class: "switch-track", "aria-hidden": "true" }, h("span", { class: "switch-thumb" })),
          text
        );
        this.status[name] = statusFor(name);
        return { row: h("div", { class: "control-row" }, h("span", { class: "control-label", id: labelId, text: label }), button, this.status[name]), button, text };
      };
      this.monitoring = switchFor("monitoring", "Monitoring");
      this.frames = switchFor("frames", "Camera picture");

      const minutesId = `in-${id}-alert_minutes`;
      this.minutes = h("input", {
        id: minutesId,
        type: "number",
        inputmode: "numeric",
        min: C.ALERT_MINUTES_MIN,
        max: C.ALERT_MINUTES_MAX,
        step: 1,
        required: true,
        class: "input",
        "aria-describedby": `st-${id}-alert_minutes`,
      });
      this.status.alert_minutes = statusFor("alert_minutes");
      const minutesForm = h(
        "form",
        { class: "control-row", dataset: { action: "alert-minutes", node: id }, novalidate: true },
        h("label", { class: "control-label", for: minutesId, text: "Alert after (minutes)" }),
        h("span", { class: "inline" }, this.minutes, h("button", { type: "submit", class: "btn", text: "Set" })),
        this.status.alert_minutes
      );

      this.sensitivity = {};
      const options = ["low", "medium", "high"].map((level) => {
        const input = h("input", { type: "radio", name: `sens-${id}`, value: level, id: `rd-${id}-${level}`, dataset: { action: "sensitivity", node: id } });
        this.sensitivity[level] = input;
        return h("span", { class: "segment" }, input, h("label", { for: `rd-${id}-${level}`, text: F.capitalise(level) }));
      });
      this.status.sensitivity = statusFor("sensitivity");
      const sensitivity = h(
        "fieldset",
        { class: "control-row", "aria-describedby": `st-${id}-sensitivity` },
        h("legend", { class: "control-label", text: "Sensitivity" }),
        h("span", { class: "segments" }, options),
        this.status.sensitivity
      );

      this.calibrateState = h("span", { class: "calibrate-state" });
      this.calibrateButton = h("button", { type: "button", class: "btn", dataset: { action: "calibrate", node: id }, "aria-describedby": `st-${id}-calibrate`, text: "Calibrate" });
      this.status.calibrate = statusFor("calibrate");
      const calibrate = h(
        "div",
        { class: "control-row" },
        h("span", { class: "control-label", text: "Calibration" }),
        h("span", { class: "inline" }, this.calibrateButton, this.calibrateState),
        h("p", { class: "quiet control-help", text: "Sit in your usual good posture while it records." }),
        this.status.calibrate
      );
      return h("div", { class: "controls" }, this.monitoring.row, this.frames.row, minutesForm, sensitivity, calibrate);
    }

    update(record, ctx) {
      const connection = ctx.connection;
      const canControl = connection.canControl;
      const online = connection.status.state === "connected";
      show(this.controls, canControl);
      show(this.readonly, !canControl);
      for (const name of C.SETTINGS) setText(this.readonlyValues[name], settingWords(name, settingValue(record, name)));

      let note = "";
      if (!connection.signedIn) note = "Read-only. Sign in as a control user to change settings.";
      else if (connection.role === "viewer") note = `Signed in as ${connection.user}: this account may view but not change settings.`;
      else if (connection.role === "checking") note = "Checking what this account may do…";
      else if (connection.role === "control-unconfirmed") note = "This broker cannot confirm permissions (MQTT 3.1.1): a change shows once the node confirms it.";
      setText(this.note, note);
      show(this.note, Boolean(note));
      show(this.noteButton, !connection.signedIn);
      if (!canControl) return;

      for (const control of [this.monitoring, this.frames]) {
        const name = control.button.dataset.setting;
        const value = settingValue(record, name);
        setAttr(control.button, "aria-checked", value === "ON" ? "true" : "false");
        setText(control.text, value === "ON" ? "On" : value === "OFF" ? "Off" : "–");
        control.button.disabled = !online || value === null;
      }
      const minutes = settingValue(record, "alert_minutes");
      if (document.activeElement !== this.minutes && minutes !== null && this.minutes.dataset.shown !== minutes) {
        this.minutes.value = minutes;
        this.minutes.dataset.shown = minutes;
      }
      this.minutes.disabled = !online;
      // While a choice is on its way, show it; the node's `…/state` then confirms (or the old value returns).
      const pendingLevel = record.commands.sensitivity;
      const waiting = pendingLevel && (pendingLevel.status === "sending" || pendingLevel.status === "sent");
      const level = waiting ? pendingLevel.value : settingValue(record, "sensitivity");
      for (const [name, input] of Object.entries(this.sensitivity)) {
        input.checked = name === level;
        input.disabled = !online;
      }
      const calibration = settingValue(record, "calibrate");
      setText(this.calibrateState, settingWords("calibrate", calibration));
      this.calibrateButton.disabled = !online || calibration === "calibrating" || settingValue(record, "monitoring") === "OFF";
      for (const name of C.SETTINGS) {
        const command = record.commands[name];
        setText(this.status[name], commandText(command));
        setAttr(this.status[name], "data-status", command ? command.status : null);
      }
    }
  }

  class ActivityPanel {
    constructor() {
      this.empty = h("p", { class: "quiet", text: "Nothing yet. Alerts, corrections, calibration and daily summaries appear here." });
      this.list = h("ol", { class: "activity-list" });
      this.panel = panel("Recent activity", this.empty, this.list);
      this.el = this.panel.el;
      this.key = null;
    }

    update(record) {
      show(this.empty, record.events.length === 0);
      const key = record.events.length ? record.events[0].receivedAt : null;
      if (key === this.key) return;
      this.key = key;
      this.list.replaceChildren(
        ...record.events.map(({ event, receivedAt }) =>
          h(
            "li",
            { class: "activity-item", dataset: { type: event.event_type } },
            h("time", { datetime: new Date(receivedAt * 1000).toISOString(), text: F.clockTime(receivedAt) }),
            h("strong", { text: F.eventTitle(event.event_type) }),
            h("span", { text: F.eventText(event) })
          )
        )
      );
    }
  }

  class AboutPanel {
    constructor() {
      this.list = h("dl", { class: "about-list" });
      this.empty = h("p", { class: "quiet", text: "Not available yet." });
      this.el = h("details", { class: "panel about" }, h("summary", { class: "panel-title", text: "About this node" }), this.empty, this.list);
      this.key = "";
    }

    update(record) {
      const info = record.info;
      const stats = record.stats;
      const rows = [];
      if (info) {
        rows.push(["Version", info.version], ["Pose model", info.model], ["Started", info.started_at ? `${F.ago(record.nodeNow() - info.started_at)}` : ""], ["MQTT", info.mqtt_protocol]);
      }
      if (stats) {
        rows.push(
          ["Processing", Number.isFinite(stats.pipeline_fps) ? `${stats.pipeline_fps.toFixed(1)} fps` : "–"],
          ["Inference", Number.isFinite(stats.inference_ms) ? `${stats.inference_ms.toFixed(1)} ms` : "–"],
          ["Dropped frames", String(stats.dropped_frames)],
          ["Memory", Number.isFinite(stats.rss_mb) ? `${Math.round(stats.rss_mb)} MB` : "–"]
        );
      }
      show(this.empty, rows.length === 0);
      const key = JSON.stringify(rows);
      if (key === this.key) return;
      this.key = key;
      this.list.replaceChildren(...rows.filter(([, v]) => v).map(([k, v]) => h("div", { class: "about-row" }, h("dt", { text: k }), h("dd", { text: v }))));
    }
  }

  // ------------------------------------------------------------------ the full view of one node

  class DetailView {
    constructor(record) {
      this.id = record.id;
      this.title = h("h1", { class: "detail-title", tabindex: "-1" });
      this.nodeId = h("span", { class: "detail-id" });
      this.availability = h("span", { class: "badge" });
      this.status = new StatusBlock({ large: true });
      this.frame = new FrameBox(record);
      this.today = new TodayPanel();
      this.history = new HistoryPanel();
      this.camera = new CameraPanel();
      this.settings = new SettingsPanel(record);
      this.activity = new ActivityPanel();
      this.about = new AboutPanel();
      this.statusPanel = h("section", { class: "panel panel-status", "aria-label": "Posture" }, this.status.el);
      this.el = h(
        "article",
        { class: "detail" },
        h("header", { class: "detail-head" }, h("div", {}, this.title, this.nodeId), this.availability),
        h(
          "div",
          { class: "detail-grid" },
          h(
            "div",
            { class: "detail-main" },
            this.statusPanel,
            h("section", { class: "panel panel-frame", "aria-label": "Camera picture" }, this.frame.el),
            this.today.el,
            this.activity.el
          ),
          h("div", { class: "detail-side" }, this.settings.el, this.history.el, this.camera.el, this.about.el)
        )
      );
    }

    update(record, ctx) {
      setText(this.title, record.name);
      setText(this.nodeId, record.name === record.id ? "" : `node ${record.id}`);
      const availability = record.availability || "unknown";
      setAttr(this.availability, "data-availability", availability);
      setText(this.availability, record.offline ? "Node offline" : record.online ? "Node online" : "Availability unknown");
      setAttr(this.statusPanel, "data-posture", displayPosture(record));
      this.status.update(record);
      this.frame.update(record, ctx.connection, ctx.framesSince);
      this.today.update(record);
      this.history.update(record);
      this.camera.update(record);
      this.settings.update(record, ctx);
      this.activity.update(record);
      this.about.update(record);
    }

    destroy() {
      this.frame.destroy();
    }
  }

  // ------------------------------------------------------------------ the page

  const CONNECTION_WORDS = Object.freeze({
    connecting: { text: "Connecting…", icon: "i-sync" },
    connected: { text: "Connected", icon: "i-connected" },
    reconnecting: { text: "Reconnecting…", icon: "i-sync" },
    refused: { text: "Sign-in needed", icon: "i-error" },
    error: { text: "Connection error", icon: "i-error" },
  });

  class View {
    constructor({ store, connection, elements, onFocus }) {
      this.store = store;
      this.connection = connection;
      this.el = elements;
      this.onFocus = onFocus || (() => {});
      this.route = { name: "overview" };
      this.cards = new Map();
      this.detail = null;
      this.scheduled = false;
      this.framesSince = null;
      this.renders = 0;
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
      const ctx = { connection, framesSince: this.framesSince };
      this.renderHeader();
      this.renderAlerts();
      const nodes = this.store.sortedNodes();
      let focus = null;
      if (this.route.name === "node") focus = this.store.nodes.get(this.route.id) || null;
      else if (nodes.length === 1) focus = nodes[0];
      const showingDetail = this.route.name === "node" || nodes.length === 1;
      this.onFocus(this.route.name === "node" ? this.route.id : nodes.length === 1 ? nodes[0].id : null);
      show(this.el.back, this.route.name === "node" && (nodes.length > 1 || !focus));
      show(this.el.overview, !showingDetail && nodes.length > 1);
      this.renderEmpty(nodes, showingDetail, focus);
      if (!showingDetail) this.renderCards(nodes, ctx);
      else this.clearCards();
      this.renderDetail(showingDetail ? focus : null, ctx);
      this.renderTitle(nodes, focus);
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
      const active = this.store.sortedNodes().filter((r) => r.alert && !r.alert.dismissed);
      const key = active.map((r) => `${r.id}:${r.alert.receivedAt}`).join("|");
      if (this.el.alerts.dataset.key === key) return;
      this.el.alerts.dataset.key = key;
      this.el.alerts.replaceChildren(
        ...active.map((record) =>
          h(
            "div",
            { class: "alert-banner", dataset: { node: record.id } },
            icon("i-bad", "alert-icon"),
            h("p", { class: "alert-text" }, h("strong", { text: `${record.name}: ` }), F.eventText(record.alert.event)),
            h("button", { type: "button", class: "btn btn-ghost", dataset: { action: "dismiss-alert", node: record.id }, text: "Dismiss", "aria-label": `Dismiss the alert for ${record.name}` })
          )
        )
      );
    }

    renderEmpty(nodes, showingDetail, focus) {
      const empty = this.el.empty;
      let title = "";
      let text = "";
      const status = this.connection.status.state;
      if (this.problems.length && !this.connection.url) {
        title = "The page address needs fixing";
        text = this.problems.join(" ");
      } else if (showingDetail && !focus) {
        title = `No node called “${this.route.id}” has published`;
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

    renderCards(nodes, ctx) {
      const seen = new Set();
      let previous = null;
      for (const record of nodes) {
        seen.add(record.id);
        let card = this.cards.get(record.id);
        if (!card) {
          card = new CardView(record);
          this.cards.set(record.id, card);
        }
        card.update(record, ctx);
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

    renderDetail(record, ctx) {
      if (this.detail && (!record || this.detail.id !== record.id)) {
        this.detail.destroy();
        this.detail.el.remove();
        this.detail = null;
      }
      if (!record) return;
      if (!this.detail) {
        this.detail = new DetailView(record);
        this.el.detail.append(this.detail.el);
      }
      this.detail.update(record, ctx);
    }

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
  DP.viewInternals = { frameSituation, displayPosture, h, icon };
})((window.DeskPulse = window.DeskPulse || {}));
