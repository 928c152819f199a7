/* Trợ lý TTHC: one script tag on a department's website adds the chat.
   <script src="https://tro-ly.example.gov.vn/widget.js" async></script>
   The chat runs in a frame from the assistant's own origin; it keeps working where the
   browser blocks storage for third-party frames (its session id then lives in memory). */
(function () {
  "use strict";
  var me = document.currentScript;
  var base = (me && me.src) ? me.src.replace(/widget\.js(\?.*)?$/, "") : "/";
  var LABEL_OPEN = "Hỏi đáp thủ tục";
  var LABEL_CLOSE = "Đóng hỏi đáp";

  function mount() {
    if (document.getElementById("tthc-widget-frame")) { return; }  // the tag was added twice
    var open = false;
    var frame = document.createElement("iframe");
    frame.id = "tthc-widget-frame";
    frame.src = base;
    frame.title = "Trợ lý thủ tục hành chính";
    frame.style.cssText = "position:fixed;bottom:80px;right:16px;width:380px;" +
      "height:min(560px,calc(100vh - 96px));max-width:calc(100vw - 32px);border:1px solid #ccc;" +
      "border-radius:12px;display:none;z-index:2147483646;background:#fff;" +
      "box-shadow:0 4px 16px rgba(0,0,0,.2)";
    var toggle = document.createElement("button");
    toggle.type = "button";
    toggle.textContent = LABEL_OPEN;
    toggle.setAttribute("aria-expanded", "false");
    toggle.setAttribute("aria-controls", frame.id);
    toggle.style.cssText = "position:fixed;bottom:16px;right:16px;z-index:2147483647;" +
      "padding:12px 16px;border:0;border-radius:24px;background:#b71c1c;color:#fff;" +
      "font:15px system-ui,sans-serif;cursor:pointer;box-shadow:0 2px 8px rgba(0,0,0,.25)";
    toggle.addEventListener("click", function () {
      open = !open;
      frame.style.display = open ? "block" : "none";
      toggle.textContent = open ? LABEL_CLOSE : LABEL_OPEN;
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      if (open) { frame.focus(); }
    });
    document.body.appendChild(frame);
    document.body.appendChild(toggle);
  }

  // An async script in <head> may run before <body> exists.
  if (document.body) { mount(); } else { document.addEventListener("DOMContentLoaded", mount); }
})();
