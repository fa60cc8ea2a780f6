/* Text size (standard, large, extra large) and high contrast: the buttons in partials/display_controls.html.
   The choice is kept in localStorage ("portal-text-size", "portal-contrast"), applied on every page (early by
   display-early.js, again here) and followed in other open tabs. Buttons are native <button>s with aria-pressed,
   so Enter and Space work and screen readers announce the state. */
(function () {
  "use strict";
  var root = document.documentElement;
  var SIZE_KEY = "portal-text-size";
  var CONTRAST_KEY = "portal-contrast";
  var SIZE_CLASSES = { standard: "", large: "app-text-large", xlarge: "app-text-xlarge" };

  function read(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }
  function write(key, value) {
    try { window.localStorage.setItem(key, value); } catch (e) { /* not remembered, still applied */ }
  }
  function currentSize() {
    var size = read(SIZE_KEY);
    return Object.prototype.hasOwnProperty.call(SIZE_CLASSES, size) ? size : "standard";
  }

  var controls = document.querySelector("[data-display-controls]");
  var sizeButtons = controls ? controls.querySelectorAll("[data-text-size]") : [];
  var contrastButton = controls ? controls.querySelector("[data-contrast]") : null;

  function apply() {
    var size = currentSize();
    var high = read(CONTRAST_KEY) === "high";
    Object.keys(SIZE_CLASSES).forEach(function (name) {
      if (SIZE_CLASSES[name]) { root.classList.toggle(SIZE_CLASSES[name], name === size); }
    });
    root.classList.toggle("app-contrast-high", high);
    Array.prototype.forEach.call(sizeButtons, function (button) {
      button.setAttribute("aria-pressed", String(button.getAttribute("data-text-size") === size));
    });
    if (contrastButton) { contrastButton.setAttribute("aria-pressed", String(high)); }
  }

  apply();
  if (!controls) { return; }
  Array.prototype.forEach.call(sizeButtons, function (button) {
    button.addEventListener("click", function () {
      write(SIZE_KEY, button.getAttribute("data-text-size"));
      apply();
    });
  });
  if (contrastButton) {
    contrastButton.addEventListener("click", function () {
      write(CONTRAST_KEY, read(CONTRAST_KEY) === "high" ? "standard" : "high");
      apply();
    });
  }
  window.addEventListener("storage", function (event) {
    if (event.key === SIZE_KEY || event.key === CONTRAST_KEY) { apply(); }
  });
  controls.hidden = false;
})();
