/* DeskPulse dashboard: what a node looks like right now, in words, from its record. No DOM. */
(function (DP) {
  "use strict";

  const F = DP.format;

  function nowSeconds() {
    return Date.now() / 1000;
  }

  /**
   * The posture a person should see: offline and "waiting" win over a last known verdict.
   * @param {DeskPulse.NodeRecord} record
   */
  function displayPosture(record) {
    if (record.offline) return "offline";
    if (!record.state) return "waiting";
    return record.state.posture;
  }

  /**
   * The reason line under the posture word.
   * @param {DeskPulse.NodeRecord} record
   */
  function statusLine(record) {
    const state = record.state;
    if (record.offline) {
      if (!state) return "The node is not running.";
      return `Last seen ${F.postureMeta(state.posture).short.toLowerCase()}, ${F.ago(record.stateAge())}.`;
    }
    if (!state) return "No posture published yet.";
    if (state.reason) return F.capitalise(state.reason);
    if (state.posture === "good") return "Nice and upright.";
    if (state.posture === "away") return "Nobody at the desk.";
    return "";
  }

  /**
   * "for 23 min": time in the current posture, on the node's clock.
   * @param {DeskPulse.NodeRecord} record
   */
  function sinceText(record) {
    const state = record.state;
    if (!state || record.offline || !F.finite(state.since)) return "";
    return `for ${F.duration(record.nodeNow() - state.since)}`;
  }

  /** @param {DeskPulse.NodeRecord} record */
  function updatedText(record) {
    const age = record.stateAge();
    if (age === null) return "No update yet";
    return record.stale ? `Stale: last update ${F.ago(age)}` : `Updated ${F.ago(age)}`;
  }

  /**
   * The node's value of a setting (its retained `…/state`), or null when not published.
   * @param {DeskPulse.NodeRecord} record
   * @param {string} name
   */
  function settingValue(record, name) {
    const entry = record.settings[name];
    return entry ? entry.value : null;
  }

  DP.describe = { nowSeconds, displayPosture, statusLine, sinceText, updatedText, settingValue };
})((window.DeskPulse = window.DeskPulse || {}));
