/* DeskPulse dashboard: a node's card in the overview. */
(function (DP) {
  "use strict";

  const F = DP.format;
  const { h, icon, setText, setAttr, show } = DP.dom;
  const { displayPosture, statusLine } = DP.describe;
  const panels = (DP.panels = DP.panels || {});

  /** A card in the overview. No camera picture here: frames flow only for the node in the full view.
      The calibration advice sits under the link (a button may not live inside a link). */
  class CardView {
    /** @param {DeskPulse.NodeRecord} record */
    constructor(record) {
      this.id = record.id;
      this.title = h("h2", { class: "card-title" });
      this.nodeId = h("span", { class: "card-id" });
      this.status = new panels.StatusBlock({ large: false });
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
      this.advice = new panels.CalibrationAdvice(record);
      this.el = h("li", { class: "card" }, this.link, this.advice.el);
    }

    /**
     * @param {DeskPulse.NodeRecord} record
     * @param {DeskPulse.RenderContext} ctx
     */
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
      this.advice.update(record, ctx);
    }

    destroy() {}
  }

  panels.CardView = CardView;
})((window.DeskPulse = window.DeskPulse || {}));
