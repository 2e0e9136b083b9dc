/* DeskPulse dashboard: words, icons and numbers. Pure functions, no DOM, no MQTT. */
(function (DP) {
  "use strict";

  // Every posture has a word, an icon and a colour (Okabe–Ito); the colour never stands alone.
  const POSTURES = Object.freeze({
    good: { label: "Good posture", short: "Good", icon: "i-good" },
    bad: { label: "Bad posture", short: "Bad", icon: "i-bad" },
    away: { label: "Away", short: "Away", icon: "i-away" },
    paused: { label: "Paused", short: "Paused", icon: "i-paused" },
    unknown: { label: "Unknown", short: "Unknown", icon: "i-unknown" },
    offline: { label: "Offline", short: "Offline", icon: "i-offline" },
    waiting: { label: "Waiting for the node", short: "Waiting", icon: "i-unknown" },
  });

  const CAMERA_STATES = Object.freeze({
    connected: { label: "Camera connected", icon: "i-camera" },
    degraded: { label: "Camera degraded", icon: "i-camera-warn" },
    disconnected: { label: "Camera disconnected", icon: "i-camera-off" },
    paused: { label: "Camera released (monitoring off)", icon: "i-camera-off" },
  });

  const TRENDS = Object.freeze({
    improving: "Improving",
    declining: "Declining",
    stable: "Stable",
    unknown: "Not enough days yet",
  });

  /** @type {Readonly<Record<string, DeskPulse.PostureWords>>} */
  const POSTURE_WORDS = POSTURES;
  /** @type {Readonly<Record<string, { label: string, icon: string }>>} */
  const CAMERA_WORDS = CAMERA_STATES;

  /**
   * A finite number (payload fields are checked before they are drawn).
   * @param {unknown} value
   * @returns {value is number}
   */
  function finite(value) {
    return typeof value === "number" && Number.isFinite(value);
  }

  /** @param {string} name a posture, or "offline" / "waiting" */
  function postureMeta(name) {
    return POSTURE_WORDS[name] || POSTURES.unknown;
  }

  /** @param {string} name a camera state */
  function cameraMeta(name) {
    return CAMERA_WORDS[name] || { label: `Camera ${name}`, icon: "i-camera-warn" };
  }

  /**
   * 75 → "1 min 15 s", 3700 → "1 h 1 min", 8 → "8 s".
   * @param {number | null | undefined} seconds
   */
  function duration(seconds) {
    if (!finite(seconds) || seconds < 0) return "–";
    const s = Math.floor(seconds);
    if (s < 60) return `${s} s`;
    const minutes = Math.floor(s / 60);
    if (minutes < 60) return s % 60 ? `${minutes} min ${s % 60} s` : `${minutes} min`;
    const hours = Math.floor(minutes / 60);
    return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  }

  /**
   * Seconds as whole minutes or hours for totals: 0 → "0 min", 5000 → "1 h 23 min".
   * @param {number | null | undefined} seconds
   */
  function totalMinutes(seconds) {
    if (!finite(seconds) || seconds < 0) return "–";
    const minutes = Math.round(seconds / 60);
    if (minutes < 60) return `${minutes} min`;
    const hours = Math.floor(minutes / 60);
    return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  }

  /**
   * An age in seconds as "just now", "12 s ago", "3 min ago", "2 h ago", "3 days ago".
   * @param {number | null | undefined} seconds
   */
  function ago(seconds) {
    if (!finite(seconds)) return "never";
    if (seconds < 2) return "just now";
    if (seconds < 60) return `${Math.floor(seconds)} s ago`;
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
    if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
    const days = Math.floor(seconds / 86400);
    return `${days} day${days === 1 ? "" : "s"} ago`;
  }

  /** @param {number | null | undefined} value */
  function percent(value) {
    return finite(value) ? `${Math.round(value)} %` : "–";
  }

  /**
   * "2026-11-24" → "Tue 24 Nov" (the date is the node's local day; no time zone shift).
   * @param {string} isoDate
   */
  function dayLabel(isoDate) {
    const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDate || "");
    if (!match) return isoDate || "?";
    const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
    return date.toLocaleDateString(undefined, { weekday: "short", day: "numeric", month: "short", timeZone: "UTC" });
  }

  /** @param {number | null | undefined} epochSeconds */
  function clockTime(epochSeconds) {
    if (!finite(epochSeconds)) return "";
    return new Date(epochSeconds * 1000).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  }

  /** @param {string} text */
  function capitalise(text) {
    return text ? text.charAt(0).toUpperCase() + text.slice(1) : text;
  }

  /**
   * "cannot open the camera" → "Cannot open the camera." (a message as a sentence).
   * @param {string | null | undefined} text
   */
  function sentence(text) {
    const trimmed = String(text || "").trim();
    if (!trimmed) return "";
    return capitalise(/[.!?…]$/.test(trimmed) ? trimmed : `${trimmed}.`);
  }

  /**
   * A one-line text for an `event` payload (uses the node's message when it sent one).
   * @param {EventPayload} event
   */
  function eventText(event) {
    if (event.message) return capitalise(event.message);
    const details = event.details || {};
    switch (event.event_type) {
      case "posture_alert":
        return Number.isFinite(details.bad_s) ? `Bad posture for ${duration(details.bad_s)}` : "Bad posture for too long";
      case "posture_corrected":
        return "Posture corrected";
      case "daily_summary":
        return Number.isFinite(details.score) ? `Daily summary: score ${percent(details.score)}` : "Daily summary";
      case "calibrated":
        return "Calibrated";
      case "command_rejected":
        return "A command was rejected";
      default:
        return capitalise(String(event.event_type || "event").replace(/_/g, " "));
    }
  }

  const EVENT_TITLES = Object.freeze({
    posture_alert: "Alert",
    posture_corrected: "Corrected",
    alert_cleared: "Alert cleared",
    streak: "Streak",
    achievement: "Achievement",
    daily_summary: "Daily summary",
    calibrated: "Calibrated",
    calibration_failed: "Calibration failed",
    command_rejected: "Command rejected",
  });

  /** @param {string} type */
  function eventTitle(type) {
    return /** @type {Readonly<Record<string, string>>} */ (EVENT_TITLES)[type] || capitalise(String(type || "event").replace(/_/g, " "));
  }

  /**
   * A measured line as words: "neck 38° > 25°" for angles (`…_deg`, whole degrees unless that would hide
   * the difference: "25.4° > 25°"), "head height 0.31 < 0.35" for ratios (two decimals).
   * @param {PoseLine} line
   */
  function measureLabel(line) {
    const degrees = line.measure.endsWith("_deg");
    const whole = Math.round(line.value) !== Math.round(line.limit) || line.value === line.limit;
    /** @param {number} n */
    const number = (n) => (degrees ? `${whole ? Math.round(n) : n.toFixed(1)}°` : n.toFixed(2));
    return `${line.name.replace(/_/g, " ")} ${number(line.value)} ${line.op} ${number(line.limit)}`;
  }

  DP.format = {
    finite,
    POSTURES,
    TRENDS,
    postureMeta,
    cameraMeta,
    duration,
    totalMinutes,
    ago,
    percent,
    dayLabel,
    clockTime,
    capitalise,
    sentence,
    eventText,
    eventTitle,
    measureLabel,
  };
})((window.DeskPulse = window.DeskPulse || {}));
