/* DeskPulse dashboard: the camera picture box (a fixed 16:9 box): the picture with the node's skeleton over it,
   or, where this viewer may not see the picture, the skeleton alone (the privacy view), or the reason there is
   neither. */
(function (DP) {
  "use strict";

  const F = DP.format;
  const { h, icon, setText, setAttr, show } = DP.dom;
  const { nowSeconds, settingValue } = DP.describe;
  // A frame box shows a "waiting" text this long before it says that a picture needs sign-in.
  const FRAME_GRACE_S = 4;
  const panels = (DP.panels = DP.panels || {});

  /**
   * Whether the live frame may be shown, and if not, a sentence saying why and whether the skeleton may stand
   * in for it (`skeleton`: the picture is withheld or missing, but the node is watching).
   * @param {DeskPulse.NodeRecord} record
   * @param {DeskPulse.Connection} connection
   * @param {number | null} framesSince when the frames connection connected (null: it is not)
   * @returns {DeskPulse.FrameSituation}
   */
  function frameSituation(record, connection, framesSince) {
    const monitoring = settingValue(record, "monitoring");
    const frames = settingValue(record, "frames");
    const frame = record.frame;
    if (record.offline) return { show: false, why: "The node is offline: no live picture." };
    if (monitoring === "OFF" || (record.state && record.state.posture === "paused")) {
      return { show: false, why: "Monitoring is off: the camera is released." };
    }
    if (frames === "OFF") {
      return { show: false, why: "The camera picture is turned off on this node.", skeleton: "the picture is off on this node." };
    }
    if (frame) {
      const age = nowSeconds() - frame.receivedAt;
      if (age <= record.frameStaleAfter()) return { show: true, why: "" };
      return { show: false, why: `No new picture for ${F.duration(age)}.`, skeleton: "no new picture." };
    }
    if (record.camera && record.camera.state === "disconnected") {
      return { show: false, why: "No picture: the camera is disconnected." };
    }
    const status = connection.framesStatus.state;
    if (status !== "connected") {
      if (status === "refused") return { show: false, why: "Sign in to see the camera picture.", skeleton: "sign in for the picture.", signIn: true };
      return { show: false, why: "Connecting for the picture…", skeleton: "connecting for the picture…" };
    }
    if (!connection.signedIn && framesSince !== null && nowSeconds() - framesSince > FRAME_GRACE_S) {
      return {
        show: false,
        why: "On a secured broker the camera picture is for signed-in viewers only. Sign in to see it.",
        signIn: true,
        skeleton: "the picture is for signed-in viewers.",
      };
    }
    return { show: false, why: "Waiting for the camera picture…", skeleton: "waiting for the picture…" };
  }

  // ------------------------------------------------------------------ the frame box

  class FrameBox {
    /** @param {DeskPulse.NodeRecord} record */
    constructor(record) {
      /** @type {number | null} */
      this.version = null;
      this.img = h("img", { class: "frame-img", alt: `Live camera picture of ${record.name}`, hidden: true, decoding: "async" });
      this.why = h("p", { class: "frame-why" });
      this.signIn = h("button", { type: "button", class: "btn btn-primary", dataset: { action: "signin" }, text: "Sign in", hidden: true });
      this.placeholder = h("div", { class: "frame-placeholder" }, icon("i-camera-off", "frame-placeholder-icon"), this.why, this.signIn);
      this.age = h("span", { class: "frame-age", hidden: true });
      this.pose = new panels.PoseOverlay();
      this.captionText = h("span");
      this.captionSignIn = h("button", { type: "button", class: "btn btn-small", dataset: { action: "signin" }, text: "Sign in", hidden: true });
      this.caption = h("p", { class: "frame-caption", hidden: true }, this.captionText, this.captionSignIn);
      this.el = h("div", { class: "frame-box" }, this.img, this.pose.el, this.placeholder, this.caption, this.age);
      /** @type {DeskPulse.PoseDrawn} */
      this.poseDrawn = { state: "gone", redrawIn: null };
      this.img.addEventListener("load", () => this.release());
      this.img.addEventListener("error", () => {
        this.release();
        if (this.img.getAttribute("src")) {
          this.img.removeAttribute("src");
          this.failed = true;
        }
      });
      this.failed = false;
      /** @type {string | null} */
      this.url = null;
    }

    release() {
      if (this.url) {
        URL.revokeObjectURL(this.url);
        this.url = null;
      }
    }

    /**
     * @param {DeskPulse.NodeRecord} record
     * @param {DeskPulse.RenderContext} ctx
     */
    update(record, ctx) {
      const situation = frameSituation(record, ctx.connection, ctx.framesSince);
      const frame = record.frame;
      if (situation.show && frame && frame.version !== this.version) {
        this.version = frame.version;
        this.failed = false;
        this.release();
        this.url = URL.createObjectURL(frame.blob);
        this.img.src = this.url;
      }
      if (!situation.show && this.img.getAttribute("src")) {
        this.release();
        this.img.removeAttribute("src");
        this.version = null;
      }
      const visible = situation.show && !this.failed;
      show(this.img, visible);
      // Over the picture, or alone in its place where the picture is withheld: never with a stale picture.
      const mode = visible ? "over" : situation.skeleton ? "privacy" : "off";
      setAttr(this.el, "data-view", mode); // before drawing: the privacy stage leaves room for its caption
      this.poseDrawn = this.pose.update(record, mode);
      const skeletonOnly = mode === "privacy" && this.poseDrawn.state !== "gone";
      show(this.placeholder, !visible && !skeletonOnly);
      show(this.caption, skeletonOnly);
      if (skeletonOnly) setText(this.captionText, `Posture only: ${situation.skeleton}`);
      show(this.captionSignIn, skeletonOnly && Boolean(situation.signIn));
      setText(this.why, this.failed ? "The picture could not be decoded." : situation.why);
      show(this.signIn, Boolean(situation.signIn));
      setAttr(this.img, "alt", `Live camera picture of ${record.name}`);
      show(this.age, visible);
      if (visible && frame) setText(this.age, F.ago(nowSeconds() - frame.receivedAt));
    }

    /** Seconds until the skeleton needs drawing again (0: next animation frame), or null. */
    redrawIn() {
      return this.poseDrawn.redrawIn;
    }

    destroy() {
      this.release();
    }
  }

  panels.frameSituation = frameSituation;
  panels.FrameBox = FrameBox;
})((window.DeskPulse = window.DeskPulse || {}));
