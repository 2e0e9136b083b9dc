/* DeskPulse dashboard: the full view of one node, made of the panels. */
(function (DP) {
  "use strict";

  const { h, setText, setAttr } = DP.dom;
  const { displayPosture } = DP.describe;
  const panels = (DP.panels = DP.panels || {});

  class DetailView {
    /** @param {DeskPulse.NodeRecord} record */
    constructor(record) {
      this.id = record.id;
      this.title = h("h1", { class: "detail-title", tabindex: "-1" });
      this.nodeId = h("span", { class: "detail-id" });
      this.availability = h("span", { class: "badge" });
      this.status = new panels.StatusBlock({ large: true });
      this.advice = new panels.CalibrationAdvice(record);
      this.frame = new panels.FrameBox(record);
      this.today = new panels.TodayPanel();
      this.history = new panels.HistoryPanel();
      this.camera = new panels.CameraPanel();
      this.settings = new panels.SettingsPanel(record);
      this.activity = new panels.ActivityPanel();
      this.about = new panels.AboutPanel();
      /** @type {DeskPulse.Part[]} */
      this.parts = [this.status, this.advice, this.frame, this.today, this.history, this.camera, this.settings, this.activity, this.about];
      this.statusPanel = h("section", { class: "panel panel-status", "aria-label": "Posture" }, this.status.el, this.advice.el);
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

    /**
     * @param {DeskPulse.NodeRecord} record
     * @param {DeskPulse.RenderContext} ctx
     */
    update(record, ctx) {
      setText(this.title, record.name);
      setText(this.nodeId, record.name === record.id ? "" : `node ${record.id}`);
      const availability = record.availability || "unknown";
      setAttr(this.availability, "data-availability", availability);
      setText(this.availability, record.offline ? "Node offline" : record.online ? "Node online" : "Availability unknown");
      setAttr(this.statusPanel, "data-posture", displayPosture(record));
      for (const part of this.parts) part.update(record, ctx);
    }

    /** Seconds until the view needs drawing again without new data (the skeleton fading), or null. */
    redrawIn() {
      return this.frame.redrawIn();
    }

    destroy() {
      for (const part of this.parts) if (part.destroy) part.destroy();
    }
  }

  panels.DetailView = DetailView;
})((window.DeskPulse = window.DeskPulse || {}));
