/* DeskPulse dashboard: the node's settings, read-only or as controls for a control user. */
(function (DP) {
  "use strict";

  const C = DP.constants;
  const F = DP.format;
  const { h, setText, setAttr, show, panel } = DP.dom;
  const { nowSeconds, settingValue } = DP.describe;
  const COMMAND_DONE_VISIBLE_S = 4;
  const panels = (DP.panels = DP.panels || {});

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

  panels.SettingsPanel = SettingsPanel;
})((window.DeskPulse = window.DeskPulse || {}));
