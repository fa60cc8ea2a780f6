/* Display settings before the first paint: the classes chosen with the text size and contrast buttons
   (theme/js/display.js) are set on <html> while the head loads, so a large-text page never flashes small.
   Loaded without defer on purpose; it only reads two localStorage keys. */
(function () {
  "use strict";
  var root = document.documentElement;
  var sizes = { large: "app-text-large", xlarge: "app-text-xlarge" };
  try {
    var size = window.localStorage.getItem("portal-text-size");
    if (sizes[size]) { root.classList.add(sizes[size]); }
    if (window.localStorage.getItem("portal-contrast") === "high") { root.classList.add("app-contrast-high"); }
  } catch (e) { /* storage blocked: standard display */ }
})();
