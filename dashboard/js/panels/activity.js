/* DeskPulse dashboard: the last events (alerts, corrections, calibration, summaries). */
(function (DP) {
  "use strict";

  const F = DP.format;
  const { h, show, panel } = DP.dom;
  const panels = (DP.panels = DP.panels || {});

  class ActivityPanel {
    constructor() {
      this.empty = h("p", { class: "quiet", text: "Nothing yet. Alerts, corrections, calibration and daily summaries appear here." });
      this.list = h("ol", { class: "activity-list" });
      this.panel = panel("Recent activity", this.empty, this.list);
      this.el = this.panel.el;
      /** @type {number | null} */
      this.key = null;
    }

    /** @param {DeskPulse.NodeRecord} record */
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

  panels.ActivityPanel = ActivityPanel;
})((window.DeskPulse = window.DeskPulse || {}));
