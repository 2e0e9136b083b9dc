/* DeskPulse dashboard: the skeleton the node measured (`pose`), drawn over the live picture or, where the
   viewer may not see the picture, alone on a neutral stage of the picture's shape (the privacy view).

   One SVG whose viewBox is the picture (100 units high, 100 × aspect wide) and whose preserveAspectRatio
   matches the picture's object-fit: contain, so landmarks land on the person at any size; strokes do not
   scale (vector-effect), so lines stay crisp and equally thick on a phone and on a 4K screen. It follows
   the latest pose message, fades once that is older than POSE_FADE_AFTER_S and is gone at
   POSE_GONE_AFTER_S. Colour is the posture's (style.css); broken measures are thicker and labelled. */
(function (DP) {
  "use strict";

  const C = DP.constants;
  const F = DP.format;
  const { svg, setAttr } = DP.dom;
  const { nowSeconds } = DP.describe;
  const panels = (DP.panels = DP.panels || {});

  const HEIGHT = 100;
  // Landmarks below this visibility are not drawn (the node does not use them either).
  const MIN_VISIBILITY = 0.5;
  // Labels keep about this size in CSS pixels whatever the picture's size.
  const LABEL_PX = 13;
  const JOINT_PX = 3.5;
  /** The skeleton's bones, between the landmarks a pose may carry. */
  const BONES = [
    ["left_ear", "left_eye"],
    ["left_eye", "nose"],
    ["nose", "right_eye"],
    ["right_eye", "right_ear"],
    ["left_shoulder", "right_shoulder"],
    ["left_shoulder", "left_hip"],
    ["right_shoulder", "right_hip"],
    ["left_hip", "right_hip"],
  ];

  class PoseOverlay {
    constructor() {
      this.stage = svg("rect", { class: "pose-stage", x: 0, y: 0, height: HEIGHT });
      this.halo = svg("g", { class: "pose-halo" });
      this.ink = svg("g", { class: "pose-ink" });
      this.joints = svg("g", { class: "pose-joints" });
      this.labels = svg("g", { class: "pose-labels" });
      this.el = svg(
        "svg",
        { class: "pose-overlay", preserveAspectRatio: "xMidYMid meet", role: "img", "aria-label": "Posture skeleton", hidden: "" },
        this.stage,
        this.halo,
        this.ink,
        this.joints,
        this.labels
      );
      /** @type {string | null} what is drawn: pose version, mode and scale */
      this.drawn = null;
      /** CSS pixels per viewBox unit at the rendered size (labels and joints keep their pixel size). */
      this.scale = 1;
    }

    /**
     * Draw the record's latest pose over the picture ("over"), on a neutral stage ("privacy"), or not at all.
     * @param {DeskPulse.NodeRecord} record
     * @param {"over" | "privacy" | "off"} mode
     * @returns {DeskPulse.PoseDrawn}
     */
    update(record, mode) {
      const pose = record.pose;
      const age = pose ? nowSeconds() - pose.at : Infinity;
      if (!pose || mode === "off" || age >= C.POSE_GONE_AFTER_S) {
        setAttr(this.el, "hidden", true);
        setAttr(this.el, "data-state", "gone");
        return { state: "gone", redrawIn: null };
      }
      const fading = age > C.POSE_FADE_AFTER_S;
      const opacity = fading ? Math.max(0, (C.POSE_GONE_AFTER_S - age) / (C.POSE_GONE_AFTER_S - C.POSE_FADE_AFTER_S)) : 1;
      setAttr(this.el, "hidden", null);
      setAttr(this.el, "data-state", fading ? "fading" : "live");
      setAttr(this.el, "data-mode", mode);
      this.el.style.opacity = opacity.toFixed(3);
      const box = this.el.getBoundingClientRect();
      const scale = Math.min(box.width / (HEIGHT * pose.payload.aspect), box.height / HEIGHT) || 1;
      const key = `${pose.version}:${mode}:${scale.toFixed(3)}`;
      if (key !== this.drawn) {
        this.drawn = key;
        this.scale = scale;
        this.draw(pose.payload, mode);
      }
      return { state: fading ? "fading" : "live", redrawIn: fading ? 0 : C.POSE_FADE_AFTER_S - age };
    }

    /**
     * @param {PosePayload} pose
     * @param {"over" | "privacy"} mode
     */
    draw(pose, mode) {
      const width = HEIGHT * pose.aspect;
      /** @param {number} x 0..1 of the picture's width */
      const X = (x) => +(x * width).toFixed(2);
      /** @param {number} y 0..1 of the picture's height */
      const Y = (y) => +(y * HEIGHT).toFixed(2);
      const unit = 1 / this.scale;
      this.el.setAttribute("viewBox", `0 0 ${X(1)} ${HEIGHT}`);
      setAttr(this.el, "data-posture", pose.posture);
      setAttr(this.el, "data-view", pose.view);
      this.stage.setAttribute("width", String(X(1)));
      setAttr(this.stage, "hidden", mode === "privacy" ? null : true);

      const visible = Object.entries(pose.points).filter(([, point]) => point[2] >= MIN_VISIBILITY);
      const at = new Map(visible);
      /** @type {SVGLineElement[]} */
      const segments = [];
      for (const [from, to] of BONES) {
        const a = at.get(from);
        const b = at.get(to);
        if (a && b) segments.push(svg("line", { class: "pose-bone", x1: X(a[0]), y1: Y(a[1]), x2: X(b[0]), y2: Y(b[1]), "data-bone": `${from}-${to}` }));
      }
      /** @type {SVGTextElement[]} */
      const labels = [];
      const words = [];
      for (const line of pose.lines) {
        const x1 = X(line.a[0]);
        const y1 = Y(line.a[1]);
        const x2 = X(line.b[0]);
        const y2 = Y(line.b[1]);
        segments.push(
          svg("line", { class: line.broken ? "pose-measure pose-broken" : "pose-measure", x1, y1, x2, y2, "data-measure": line.name })
        );
        if (!line.broken) continue;
        const text = F.measureLabel(line);
        words.push(text);
        // Beside the line's middle, on the side with more room; kept inside the picture.
        const mx = (x1 + x2) / 2;
        const my = Math.min(HEIGHT - 3 * unit, Math.max(LABEL_PX * unit, (y1 + y2) / 2));
        const right = mx < width * 0.6;
        const label = svg("text", {
          class: "pose-label",
          x: +(mx + (right ? 8 : -8) * unit).toFixed(2),
          y: +my.toFixed(2),
          "text-anchor": right ? "start" : "end",
          "font-size": +(LABEL_PX * unit).toFixed(2),
          "data-measure": line.name,
        });
        label.textContent = text;
        labels.push(label);
      }
      this.halo.replaceChildren(...segments.map((segment) => /** @type {SVGLineElement} */ (segment.cloneNode())));
      this.ink.replaceChildren(...segments);
      this.joints.replaceChildren(
        ...visible.map(([name, point]) => svg("circle", { class: "pose-joint", cx: X(point[0]), cy: Y(point[1]), r: +(JOINT_PX * unit).toFixed(2), "data-point": name }))
      );
      this.labels.replaceChildren(...labels);
      const posture = F.postureMeta(pose.posture).label;
      setAttr(this.el, "aria-label", `Posture skeleton (${posture})${words.length ? `: ${words.join(", ")}` : ""}`);
    }
  }

  panels.PoseOverlay = PoseOverlay;
})((window.DeskPulse = window.DeskPulse || {}));
