/* DeskPulse dashboard: the node's advice to calibrate, on its card and in its full view.

   The node sets `calibration_recommended` in `state` while it sees the person from the front without a
   calibration: it then judges mild forward head only after calibrating. The line guides instead of the
   page guessing; a control user gets a one-click Calibrate (the same `PRESS` on `calibrate/set` as the
   Settings panel's control), a read-only viewer the advice alone. */
(function (DP) {
  "use strict";

  const { h, icon, setText, setAttr, show } = DP.dom;
  const { settingValue } = DP.describe;
  const panels = (DP.panels = DP.panels || {});

  const ADVICE = "Calibrate once for this camera: mild forward head is only judged after calibration.";

  /**
   * Whether the node asks for a calibration now (its latest state says so, and it is not offline).
   * @param {DeskPulse.NodeRecord} record
   */
  function calibrationRecommended(record) {
    return Boolean(record.state && record.state.calibration_recommended === true && !record.offline);
  }

  /**
   * What the calibration is doing, in words, after a press (empty when nothing is under way).
   * @param {DeskPulse.NodeRecord} record
   */
  function progressText(record) {
    if (settingValue(record, "calibrate") === "calibrating") return "Calibrating: sit in your usual good posture.";
    const command = record.commands.calibrate;
    if (!command) return "";
    if (command.status === "sending") return "Sending…";
    if (command.status === "sent") return "Waiting for the node…";
    if (command.status === "error") return command.message;
    return "";
  }

  class CalibrationAdvice {
    /** @param {DeskPulse.NodeRecord} record */
    constructor(record) {
      this.status = h("span", { class: "advice-status", role: "status" });
      this.button = h("button", {
        type: "button",
        class: "btn btn-small",
        dataset: { action: "calibrate", node: record.id },
        text: "Calibrate now",
        "aria-label": `Calibrate ${record.name} now`,
      });
      this.el = h(
        "div",
        { class: "advice", dataset: { advice: "calibrate" }, hidden: true },
        icon("i-camera-warn", "advice-icon"),
        h("p", { class: "advice-words" }, h("span", { class: "advice-text", text: ADVICE }), " ", this.status),
        this.button
      );
    }

    /**
     * @param {DeskPulse.NodeRecord} record
     * @param {DeskPulse.RenderContext} ctx
     */
    update(record, ctx) {
      const visible = calibrationRecommended(record);
      show(this.el, visible);
      if (!visible) return;
      const connection = ctx.connection;
      show(this.button, connection.canControl);
      setAttr(this.button, "aria-label", `Calibrate ${record.name} now`);
      this.button.disabled =
        connection.status.state !== "connected" || settingValue(record, "calibrate") === "calibrating" || settingValue(record, "monitoring") === "OFF";
      const progress = progressText(record);
      setText(this.status, progress);
      setAttr(this.status, "data-status", record.commands.calibrate ? record.commands.calibrate.status : null);
    }
  }

  panels.CalibrationAdvice = CalibrationAdvice;
})((window.DeskPulse = window.DeskPulse || {}));
