/* DeskPulse dashboard: tiny DOM helpers. Build an element tree once; later updates touch the DOM only when
   a value really changed, so focus, scroll and layout stay put while data flows. */
(function (DP) {
  "use strict";

  const SVG_NS = "http://www.w3.org/2000/svg";

  /**
   * An element with attributes and children: h("p", { class: "quiet", text: "Hi" }). `class`, `text` and
   * `dataset` are properties; null, undefined and false leave an attribute out; true sets it empty.
   * @template {keyof HTMLElementTagNameMap} K
   * @param {K} tag
   * @param {DeskPulse.Props | null} [props]
   * @param {...DeskPulse.Child} children
   * @returns {HTMLElementTagNameMap[K]}
   */
  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") el.className = String(value);
      else if (key === "text") el.textContent = String(value);
      else if (key === "dataset") Object.assign(el.dataset, value);
      else el.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined && child !== false) el.append(child);
    }
    return el;
  }

  /**
   * An SVG element with attributes and children: svg("line", { x1: 0, y1: 0, x2: 10, y2: 5 }).
   * @template {keyof SVGElementTagNameMap} K
   * @param {K} tag
   * @param {Record<string, string | number | null | undefined>} [attrs]
   * @param {...(SVGElement | null | undefined)} children
   * @returns {SVGElementTagNameMap[K]}
   */
  function svg(tag, attrs, ...children) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value !== null && value !== undefined) el.setAttribute(key, String(value));
    }
    for (const child of children) if (child) el.append(child);
    return el;
  }

  /**
   * An icon from the page's SVG sprite (index.html), hidden from screen readers.
   * @param {string} id
   * @param {string} [className]
   * @returns {SVGSVGElement}
   */
  function icon(id, className) {
    return svg(
      "svg",
      { class: `icon ${className || ""}`.trim(), "aria-hidden": "true", focusable: "false" },
      svg("use", { href: `#${id}` })
    );
  }

  /**
   * @param {SVGSVGElement} iconEl an icon() element
   * @param {string} id
   */
  function setIcon(iconEl, id) {
    const use = /** @type {SVGUseElement} */ (iconEl.firstChild);
    if (use.getAttribute("href") !== `#${id}`) use.setAttribute("href", `#${id}`);
  }

  /**
   * Set the text only when it changed (no needless DOM writes or screen-reader chatter).
   * @param {Element} el
   * @param {string | number | null | undefined} text
   */
  function setText(el, text) {
    const value = text === null || text === undefined ? "" : String(text);
    if (el.textContent !== value) el.textContent = value;
  }

  /**
   * Set, change or (null, undefined, false) remove an attribute, only when it changed.
   * @param {Element} el
   * @param {string} name
   * @param {string | number | boolean | null | undefined} value
   */
  function setAttr(el, name, value) {
    if (value === null || value === undefined || value === false) {
      if (el.hasAttribute(name)) el.removeAttribute(name);
    } else {
      const text = value === true ? "" : String(value);
      if (el.getAttribute(name) !== text) el.setAttribute(name, text);
    }
  }

  /**
   * @param {HTMLElement} el
   * @param {boolean} visible
   */
  function show(el, visible) {
    if (el.hidden === visible) el.hidden = !visible;
  }

  /**
   * A panel: a section with a heading.
   * @param {string} title
   * @param {...DeskPulse.Child} children
   */
  function panel(title, ...children) {
    const heading = h("h2", { class: "panel-title", text: title });
    return { el: h("section", { class: "panel" }, heading, ...children), heading };
  }

  DP.dom = { SVG_NS, h, svg, icon, setIcon, setText, setAttr, show, panel };
})((window.DeskPulse = window.DeskPulse || {}));
