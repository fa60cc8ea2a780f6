/* Share block enhancements (plugins/share). Without JavaScript the block still works: plain share links,
   the WeChat QR code and the article's address in a read-only field. This adds:
   - "Copy link": copies the address (Clipboard API, else the selected field), and says so in a status line;
   - "Share with another app": the system share sheet, shown only where navigator.share exists;
   - inside WeChat's own browser the QR code is hidden (readers share from WeChat's menu there). */
(function () {
  "use strict";

  function announce(item, text) {
    var status = item.querySelector(".app-share__status");
    if (status) { status.textContent = text; }
  }

  function copyFromField(field) {
    field.focus();
    field.select();
    try { return document.execCommand("copy"); } catch (e) { return false; }
  }

  function setUpCopy(item) {
    var button = item.querySelector("[data-share-copy]");
    var field = item.querySelector(".app-share__copy-url");
    if (!button || !field) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var done = function () { announce(item, button.getAttribute("data-share-done")); };
      var failed = function () {
        if (copyFromField(field)) { done(); } else { announce(item, button.getAttribute("data-share-failed")); }
      };
      announce(item, "");
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(field.value).then(done, failed);
      } else {
        failed();
      }
    });
  }

  function setUpNative(item) {
    var button = item.querySelector("[data-share-native]");
    if (!button || typeof navigator.share !== "function") { return; }
    item.hidden = false;
    button.addEventListener("click", function () {
      navigator.share({ title: button.getAttribute("data-share-title"), url: button.getAttribute("data-share-url") })
        .catch(function () { /* the reader closed the share sheet: nothing to do */ });
    });
  }

  function init() {
    var inWeChat = /MicroMessenger/i.test(navigator.userAgent);
    var blocks = document.querySelectorAll(".app-share");
    for (var i = 0; i < blocks.length; i++) {
      var block = blocks[i];
      var copy = block.querySelector('[data-share="copy"]');
      var native = block.querySelector('[data-share="native"]');
      var wechat = block.querySelector('[data-share="wechat"]');
      if (copy) { setUpCopy(copy); }
      if (native) { setUpNative(native); }
      if (wechat && inWeChat) { wechat.hidden = true; }
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
