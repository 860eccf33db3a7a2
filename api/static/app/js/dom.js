// A few DOM helpers: build elements, show a short message.

/** An element with attributes (on* become listeners) and children (strings or nodes). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace what `el` holds with `children`. */
export function fill(el, ...children) {
  el.replaceChildren();
  for (const child of children.flat()) if (child) el.append(child);
  return el;
}

let toastTimer = 0;

/** A message at the bottom of the screen; errors stay until tapped; `href` opens on a tap. */
export function toast(text, { error = false, href = "" } = {}) {
  const el = document.getElementById("toast");
  el.textContent = text;
  el.dataset.href = href;
  el.className = error ? "toast error" : "toast";
  el.hidden = false;
  el.setAttribute("role", error ? "alert" : "status");
  clearTimeout(toastTimer);
  if (!error) toastTimer = setTimeout(() => (el.hidden = true), 4000);
}
