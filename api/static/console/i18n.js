// Chinese first, English on request; the choice is kept per browser.
const KEY = "gridwatch.lang";

export function makeI18n(dict) {
  let lang = localStorage.getItem(KEY) === "en" ? "en" : "zh";

  function t(key, vars = {}) {
    const text = dict[lang][key] ?? dict.zh[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
  }

  // Every element with data-i18n (text) or data-i18n-placeholder gets its words.
  function apply(root = document) {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
      el.placeholder = t(el.dataset.i18nPlaceholder);
    }
  }

  function toggle() {
    lang = lang === "zh" ? "en" : "zh";
    localStorage.setItem(KEY, lang);
    apply();
  }

  return { t, apply, toggle, get lang() { return lang; } };
}
