/* DeskPulse dashboard: tiny DOM helpers. Build an element tree once; later updates touch the DOM only when
   a value really changed, so focus, scroll and layout stay put while data flows. */
(function (DP) {
  "use strict";

  const SVG_NS = "http://www.w3.org/2000/svg";

  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") el.className = value;
      else if (key === "text") el.textContent = value;
      else if (key === "dataset") Object.assign(el.dataset, value);
      else el.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined && child !== false) el.append(child);
    }
    return el;
  }

  function icon(id, className) {
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("class", `icon ${className || ""}`.trim());
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const use = document.createElementNS(SVG_NS, "use");
    use.setAttribute("href", `#${id}`);
    svg.append(use);
    return svg;
  }

  function setIcon(svg, id) {
    const use = svg.firstChild;
    if (use.getAttribute("href") !== `#${id}`) use.setAttribute("href", `#${id}`);
  }

  function setText(el, text) {
    const value = text === null || text === undefined ? "" : String(text);
    if (el.textContent !== value) el.textContent = value;
  }

  function setAttr(el, name, value) {
    if (value === null || value === undefined || value === false) {
      if (el.hasAttribute(name)) el.removeAttribute(name);
    } else {
      const text = value === true ? "" : String(value);
      if (el.getAttribute(name) !== text) el.setAttribute(name, text);
    }
  }

  function show(el, visible) {
    if (el.hidden === visible) el.hidden = !visible;
  }

  /** A panel: a section with a heading. */
  function panel(title, ...children) {
    const heading = h("h2", { class: "panel-title", text: title });
    return { el: h("section", { class: "panel" }, heading, ...children), heading };
  }

  DP.dom = { SVG_NS, h, icon, setIcon, setText, setAttr, show, panel };
})((window.DeskPulse = window.DeskPulse || {}));
