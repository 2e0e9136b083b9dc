/* DeskPulse dashboard: version, model and pipeline figures, from `info` and `stats`. */
(function (DP) {
  "use strict";

  const F = DP.format;
  const { h, show } = DP.dom;
  const panels = (DP.panels = DP.panels || {});

  class AboutPanel {
    constructor() {
      this.list = h("dl", { class: "about-list" });
      this.empty = h("p", { class: "quiet", text: "Not available yet." });
      this.el = h("details", { class: "panel about" }, h("summary", { class: "panel-title", text: "About this node" }), this.empty, this.list);
      this.key = "";
    }

    /** @param {DeskPulse.NodeRecord} record */
    update(record) {
      const info = record.info;
      const stats = record.stats;
      /** @type {[string, string | undefined][]} */
      const rows = [];
      if (info) {
        rows.push(["Version", info.version], ["Pose model", info.model], ["Started", info.started_at ? `${F.ago(record.nodeNow() - info.started_at)}` : ""], ["MQTT", info.mqtt_protocol]);
      }
      if (stats) {
        rows.push(
          ["Processing", F.finite(stats.pipeline_fps) ? `${stats.pipeline_fps.toFixed(1)} fps` : "–"],
          ["Inference", F.finite(stats.inference_ms) ? `${stats.inference_ms.toFixed(1)} ms` : "–"],
          ["Dropped frames", String(stats.dropped_frames)],
          ["Memory", F.finite(stats.rss_mb) ? `${Math.round(stats.rss_mb)} MB` : "–"]
        );
      }
      show(this.empty, rows.length === 0);
      const key = JSON.stringify(rows);
      if (key === this.key) return;
      this.key = key;
      this.list.replaceChildren(...rows.filter(([, v]) => v).map(([k, v]) => h("div", { class: "about-row" }, h("dt", { text: k }), h("dd", { text: v }))));
    }
  }

  panels.AboutPanel = AboutPanel;
})((window.DeskPulse = window.DeskPulse || {}));
