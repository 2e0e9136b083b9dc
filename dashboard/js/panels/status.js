/* DeskPulse dashboard: the posture block (word, icon, colour, reason, time in state, last update). */
(function (DP) {
  "use strict";

  const F = DP.format;
  const { h, icon, setIcon, setText, setAttr, show } = DP.dom;
  const { displayPosture, statusLine, sinceText, updatedText } = DP.describe;
  const panels = (DP.panels = DP.panels || {});

  class StatusBlock {
    /** @param {{ large: boolean }} options */
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

    /** @param {DeskPulse.NodeRecord} record */
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

  panels.StatusBlock = StatusBlock;
})((window.DeskPulse = window.DeskPulse || {}));
