/* DeskPulse dashboard: today's score and totals, from `stats.today`. */
(function (DP) {
  "use strict";

  const F = DP.format;
  const { h, icon, setText, show, panel } = DP.dom;
  const panels = (DP.panels = DP.panels || {});

  class TodayPanel {
    constructor() {
      this.empty = h("p", { class: "quiet", text: "Not available yet: the node has not published today's totals." });
      this.score = h("p", { class: "today-score" });
      this.goal = h("p", { class: "quiet today-goal" });
      this.good = h("dd");
      this.bad = h("dd");
      this.away = h("dd");
      this.alerts = h("dd");
      this.body = h(
        "div",
        { class: "today-body" },
        h("div", { class: "today-score-wrap" }, this.score, this.goal),
        h(
          "dl",
          { class: "tiles" },
          h("div", { class: "tile", dataset: { posture: "good" } }, h("dt", {}, icon("i-good"), " Good"), this.good),
          h("div", { class: "tile", dataset: { posture: "bad" } }, h("dt", {}, icon("i-bad"), " Bad"), this.bad),
          h("div", { class: "tile", dataset: { posture: "away" } }, h("dt", {}, icon("i-away"), " Away"), this.away),
          h("div", { class: "tile" }, h("dt", {}, icon("i-bell"), " Alerts"), this.alerts)
        )
      );
      this.panel = panel("Today", this.empty, this.body);
      this.el = this.panel.el;
    }

    /** @param {DeskPulse.NodeRecord} record */
    update(record) {
      const today = record.stats && record.stats.today;
      show(this.empty, !today);
      show(this.body, Boolean(today));
      if (!today) return;
      setText(this.score, Number.isFinite(today.score) ? `Score ${F.percent(today.score)}` : "Score –");
      const goal = record.history && Number.isFinite(record.history.goal) ? record.history.goal : null;
      setText(this.goal, Number.isFinite(today.score) ? (goal !== null ? `goal ${F.percent(goal)}` : "") : "No sitting time yet today");
      setText(this.good, F.totalMinutes(today.good_s));
      setText(this.bad, F.totalMinutes(today.bad_s));
      setText(this.away, F.totalMinutes(today.away_s));
      setText(this.alerts, String(Number.isFinite(today.alerts) ? today.alerts : 0));
    }
  }

  panels.TodayPanel = TodayPanel;
})((window.DeskPulse = window.DeskPulse || {}));
