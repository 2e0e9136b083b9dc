/* DeskPulse dashboard: the node's settings, read-only or as controls for a control user.
   Which settings exist, the sensitivity levels and the alert-minutes bounds come from js/contract.js; a setting
   this page has no words or control for is listed read-only with its raw value and gets no control. */
(function (DP) {
  "use strict";

  const C = DP.constants;
  const F = DP.format;
  const { h, setText, setAttr, show, panel } = DP.dom;
  const { nowSeconds, settingValue } = DP.describe;
  const COMMAND_DONE_VISIBLE_S = 4;
  const panels = (DP.panels = DP.panels || {});

  /** @type {Readonly<Record<string, string>>} */
  const SETTING_LABELS = Object.freeze({
    monitoring: "Monitoring",
    frames: "Camera picture",
    alert_minutes: "Alert after",
    sensitivity: "Sensitivity",
    rotation: "Camera rotation",
    cpu_budget: "CPU budget",
    calibrate: "Calibration",
  });

  /** How each rotation the node knows (contract.rotations, clockwise degrees) reads. */
  const ROTATION_WORDS = /** @type {Readonly<Record<string, string>>} */ (
    Object.freeze({ 0: "0° (upright)", 90: "90° clockwise", 180: "180° (upside down)", 270: "270° clockwise" })
  );

  /** @param {string} value degrees, as `rotation/state` publishes them */
  function rotationWords(value) {
    return ROTATION_WORDS[value] || `${value}°`;
  }

  /** @type {Readonly<Record<string, string>>} */
  const CALIBRATION_WORDS = Object.freeze({ calibrated: "Calibrated", uncalibrated: "Not calibrated", calibrating: "Calibrating…" });

  /** @param {string} name */
  function settingLabel(name) {
    return SETTING_LABELS[name] || F.capitalise(name.replace(/_/g, " "));
  }

  /**
   * @param {string} name
   * @param {string | null} value
   */
  function settingWords(name, value) {
    if (value === null) return "not available";
    if (name === "monitoring") return value === "ON" ? "On" : value === "OFF" ? "Off (camera released)" : value;
    if (name === "frames") return value === "ON" ? "On" : value === "OFF" ? "Off" : value;
    if (name === "alert_minutes") return `${value} min of bad posture`;
    if (name === "calibrate") return CALIBRATION_WORDS[value] || value;
    if (name === "sensitivity") return F.capitalise(value);
    if (name === "rotation") return rotationWords(value);
    if (name === "cpu_budget") return `${value} of a core for the pose model`;
    return value;
  }

  /** @param {DeskPulse.Command | undefined} command */
  function commandText(command) {
    if (!command) return "";
    const age = nowSeconds() - command.at;
    if (command.status === "sending") return "Sending…";
    if (command.status === "sent") return "Waiting for the node…";
    if (command.status === "done") return age < COMMAND_DONE_VISIBLE_S ? "Done" : "";
    if (command.status === "error") return command.message;
    return "";
  }

  /**
   * One control: its row, the status line under it, and how it shows the node's value.
   * @typedef {object} Control
   * @property {HTMLElement} row
   * @property {HTMLElement} status
   * @property {(record: DeskPulse.NodeRecord, online: boolean) => void} update
   */

  /**
   * @param {string} id node id
   * @param {string} name setting
   */
  function statusLine(id, name) {
    return h("p", { class: "control-status", role: "status", id: `st-${id}-${name}` });
  }

  /**
   * An ON/OFF switch (`role="switch"` button).
   * @param {string} id
   * @param {string} name
   * @returns {Control}
   */
  function switchControl(id, name) {
    const labelId = `lb-${id}-${name}`;
    const text = h("span", { class: "switch-text" });
    const button = h(
      "button",
      { type: "button", class: "switch", role: "switch", "aria-checked": "false", "aria-labelledby": labelId, "aria-describedby": `st-${id}-${name}`, dataset: { action: "toggle", node: id, setting: name } },
      h("span", { class: "switch-track", "aria-hidden": "true" }, h("span", { class: "switch-thumb" })),
      text
    );
    const status = statusLine(id, name);
    return {
      row: h("div", { class: "control-row" }, h("span", { class: "control-label", id: labelId, text: settingLabel(name) }), button, status),
      status,
      update(record, online) {
        const value = settingValue(record, name);
        setAttr(button, "aria-checked", value === "ON" ? "true" : "false");
        setText(text, value === "ON" ? "On" : value === "OFF" ? "Off" : "–");
        button.disabled = !online || value === null;
      },
    };
  }

  /**
   * A number within the contract's bounds, sent with Set (app.js checks it before sending): alert
   * minutes, the CPU budget.
   * @param {string} id
   * @param {DeskPulse.NumberSetting} setting
   * @returns {Control}
   */
  function numberControl(id, setting) {
    const limits = C.NUMBERS[setting];
    const inputId = `in-${id}-${setting}`;
    const input = h("input", {
      id: inputId,
      type: "number",
      inputmode: limits.step < 1 ? "decimal" : "numeric",
      min: limits.min,
      max: limits.max,
      step: limits.step,
      required: true,
      class: "input",
      "aria-describedby": `st-${id}-${setting}`,
    });
    const status = statusLine(id, setting);
    return {
      row: h(
        "form",
        { class: "control-row", dataset: { action: "number", setting, node: id }, novalidate: true },
        h("label", { class: "control-label", for: inputId, text: limits.label }),
        h("span", { class: "inline" }, input, h("button", { type: "submit", class: "btn", text: "Set" })),
        status
      ),
      status,
      update(record, online) {
        const value = settingValue(record, setting);
        if (document.activeElement !== input && value !== null && input.dataset.shown !== value) {
          input.value = value;
          input.dataset.shown = value;
        }
        input.disabled = !online;
      },
    };
  }

  /**
   * Sensitivity: one radio button per level the node knows (contract.sensitivities).
   * @param {string} id
   * @returns {Control}
   */
  function sensitivityControl(id) {
    /** @type {Record<string, HTMLInputElement>} */
    const inputs = {};
    const options = C.SENSITIVITIES.map((level) => {
      const input = h("input", { type: "radio", name: `sens-${id}`, value: level, id: `rd-${id}-${level}`, dataset: { action: "sensitivity", node: id } });
      inputs[level] = input;
      return h("span", { class: "segment" }, input, h("label", { for: `rd-${id}-${level}`, text: F.capitalise(level) }));
    });
    const status = statusLine(id, "sensitivity");
    return {
      row: h(
        "fieldset",
        { class: "control-row", "aria-describedby": `st-${id}-sensitivity` },
        h("legend", { class: "control-label", text: "Sensitivity" }),
        h("span", { class: "segments" }, options),
        status
      ),
      status,
      update(record, online) {
        // While a choice is on its way, show it; the node's `…/state` then confirms (or the old value returns).
        const pending = record.commands.sensitivity;
        const waiting = pending && (pending.status === "sending" || pending.status === "sent");
        const level = waiting ? pending.value : settingValue(record, "sensitivity");
        for (const [name, input] of Object.entries(inputs)) {
          input.checked = name === level;
          input.disabled = !online;
        }
      },
    };
  }

  /**
   * Camera rotation: a select with one option per rotation the node knows (contract.rotations); a choice is
   * sent at once to `rotation/set`.
   * @param {string} id
   * @returns {Control}
   */
  function rotationControl(id) {
    const selectId = `sel-${id}-rotation`;
    const select = h(
      "select",
      { id: selectId, class: "input", dataset: { action: "rotation", node: id }, "aria-describedby": `st-${id}-rotation` },
      C.ROTATIONS.map((degrees) => h("option", { value: String(degrees), text: rotationWords(String(degrees)) }))
    );
    const status = statusLine(id, "rotation");
    return {
      row: h(
        "div",
        { class: "control-row" },
        h("label", { class: "control-label", for: selectId, text: "Camera rotation" }),
        select,
        h("p", { class: "quiet control-help", text: "Turns the picture clockwise before the node judges it: for a camera mounted sideways or upside down." }),
        status
      ),
      status,
      update(record, online) {
        // While a choice is on its way, show it; the node's `…/state` then confirms (or the old value returns).
        const pending = record.commands.rotation;
        const waiting = pending && (pending.status === "sending" || pending.status === "sent");
        const value = waiting && pending.value !== undefined ? pending.value : settingValue(record, "rotation");
        const shown = value !== null && C.ROTATIONS.includes(Number(value)) ? String(Number(value)) : "";
        if (select.value !== shown) select.value = shown;
        select.disabled = !online;
      },
    };
  }

  /**
   * Calibrate: a button, and the node's calibration state beside it.
   * @param {string} id
   * @returns {Control}
   */
  function calibrateControl(id) {
    const state = h("span", { class: "calibrate-state" });
    const button = h("button", { type: "button", class: "btn", dataset: { action: "calibrate", node: id }, "aria-describedby": `st-${id}-calibrate`, text: "Calibrate" });
    const status = statusLine(id, "calibrate");
    return {
      row: h(
        "div",
        { class: "control-row" },
        h("span", { class: "control-label", text: "Calibration" }),
        h("span", { class: "inline" }, button, state),
        h("p", { class: "quiet control-help", text: "Sit in your usual good posture while it records." }),
        status
      ),
      status,
      update(record, online) {
        const calibration = settingValue(record, "calibrate");
        setText(state, settingWords("calibrate", calibration));
        button.disabled = !online || calibration === "calibrating" || settingValue(record, "monitoring") === "OFF";
      },
    };
  }

  /** The settings this page has a control for; any other setting of the contract gets none.
      @type {Readonly<Record<string, (id: string, name: string) => Control>>} */
  const CONTROLS = Object.freeze({
    monitoring: switchControl,
    frames: switchControl,
    alert_minutes: (id) => numberControl(id, "alert_minutes"),
    cpu_budget: (id) => numberControl(id, "cpu_budget"),
    sensitivity: sensitivityControl,
    rotation: rotationControl,
    calibrate: calibrateControl,
  });

  class SettingsPanel {
    /** @param {DeskPulse.NodeRecord} record */
    constructor(record) {
      const id = record.id;
      this.id = id;
      this.readonly = h("dl", { class: "settings-list" });
      /** @type {Map<string, HTMLElement>} */
      this.readonlyValues = new Map();
      /** @type {Map<string, Control>} */
      this.controls = new Map();
      for (const name of C.SETTINGS) {
        const value = h("dd");
        this.readonlyValues.set(name, value);
        this.readonly.append(h("div", { class: "settings-row" }, h("dt", { text: settingLabel(name) }), value));
        const build = Object.prototype.hasOwnProperty.call(CONTROLS, name) ? CONTROLS[name] : null;
        if (build) this.controls.set(name, build(id, name));
      }
      this.note = h("p", { class: "quiet settings-note" });
      this.noteButton = h("button", { type: "button", class: "btn", dataset: { action: "signin" }, text: "Sign in", hidden: true });
      this.controlsEl = h("div", { class: "controls" }, [...this.controls.values()].map((control) => control.row));
      this.panel = panel("Settings", this.controlsEl, this.readonly, h("div", { class: "settings-foot" }, this.note, this.noteButton));
      this.el = this.panel.el;
    }

    /**
     * @param {DeskPulse.NodeRecord} record
     * @param {DeskPulse.RenderContext} ctx
     */
    update(record, ctx) {
      const connection = ctx.connection;
      const canControl = connection.canControl;
      const online = connection.status.state === "connected";
      show(this.controlsEl, canControl);
      show(this.readonly, !canControl);
      for (const [name, el] of this.readonlyValues) setText(el, settingWords(name, settingValue(record, name)));

      let note = "";
      if (!connection.signedIn) note = "Read-only. Sign in as a control user to change settings.";
      else if (connection.role === "viewer") note = `Signed in as ${connection.user}: this account may view but not change settings.`;
      else if (connection.role === "checking") note = "Checking what this account may do…";
      else if (connection.role === "control-unconfirmed") note = "This broker cannot confirm permissions (MQTT 3.1.1): a change shows once the node confirms it.";
      setText(this.note, note);
      show(this.note, Boolean(note));
      show(this.noteButton, !connection.signedIn);
      if (!canControl) return;

      for (const [name, control] of this.controls) {
        control.update(record, online);
        const command = record.commands[name];
        setText(control.status, commandText(command));
        setAttr(control.status, "data-status", command ? command.status : null);
      }
    }
  }

  panels.SettingsPanel = SettingsPanel;
})((window.DeskPulse = window.DeskPulse || {}));
