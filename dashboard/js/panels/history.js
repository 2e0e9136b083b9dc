/* DeskPulse dashboard: the last 7 days, from `history`. */
(function (DP) {
  "use strict";

  const F = DP.format;
  const { h, setText, show, panel } = DP.dom;
  const HISTORY_DAYS = 7;
  const panels = (DP.panels = DP.panels || {});

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

    /** @param {DeskPulse.NodeRecord} record */
    update(record) {
      const history = record.history;
      const days = history ? history.days.slice(-HISTORY_DAYS) : [];
      show(this.empty, !days.length);
      show(this.body, days.length > 0);
      if (!history || !days.length) return;
      const trend = F.TRENDS[history.trend || "unknown"] || F.capitalise(String(history.trend || ""));
      const streak = F.finite(history.streak_days) && history.streak_days > 0 ? ` · ${history.streak_days}-day streak at goal` : "";
      setText(this.trend, `Trend: ${trend}${streak}`);
      const key = JSON.stringify(days);
      if (key === this.key) return;
      this.key = key;
      const most = Math.max(1, ...days.map((d) => (d.good_s || 0) + (d.bad_s || 0) + (d.away_s || 0)));
      const rows = days.map((day) => {
        /** @type {[string, number][]} */
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

  panels.HistoryPanel = HistoryPanel;
})((window.DeskPulse = window.DeskPulse || {}));
