/* DeskPulse dashboard: the camera's state, source and fix-it hint, from `camera`. */
(function (DP) {
  "use strict";

  const F = DP.format;
  const { h, icon, setIcon, setText, setAttr, show, panel } = DP.dom;
  const panels = (DP.panels = DP.panels || {});

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

    /** @param {DeskPulse.NodeRecord} record */
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
      if (F.finite(camera.fps)) bits.push(`${Math.round(camera.fps)} fps`);
      setText(this.detail, bits.join(" · "));
      const error = camera.error;
      show(this.error, Boolean(error));
      show(this.hint, Boolean(error && error.hint));
      if (error) {
        let retry = "";
        if (F.finite(camera.retry_at)) {
          const wait = camera.retry_at - record.nodeNow();
          retry = wait > 0 ? ` Next try in ${F.duration(wait)}.` : " Retrying now.";
        }
        setText(this.error, `${F.sentence(error.message)}${retry}`);
        setText(this.hint, error.hint ? `How to fix: ${error.hint}` : "");
      }
    }
  }

  panels.CameraPanel = CameraPanel;
})((window.DeskPulse = window.DeskPulse || {}));
