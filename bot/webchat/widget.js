/* Trợ lý TTHC: one script tag on a department's website adds the chat.
   <script src="https://tro-ly.example.gov.vn/widget.js" async></script> */
(function () {
  "use strict";
  var me = document.currentScript;
  var base = (me && me.src) ? me.src.replace(/widget\.js(\?.*)?$/, "") : "/";
  var open = false;
  var frame = document.createElement("iframe");
  frame.src = base;
  frame.title = "Trợ lý thủ tục hành chính";
  frame.style.cssText = "position:fixed;bottom:80px;right:16px;width:360px;height:520px;" +
    "max-width:calc(100vw - 32px);border:1px solid #ccc;border-radius:12px;display:none;" +
    "z-index:2147483646;background:#fff;box-shadow:0 4px 16px rgba(0,0,0,.2)";
  var toggle = document.createElement("button");
  toggle.type = "button";
  toggle.textContent = "Hỏi đáp thủ tục";
  toggle.setAttribute("aria-label", "Mở trợ lý thủ tục hành chính");
  toggle.style.cssText = "position:fixed;bottom:16px;right:16px;z-index:2147483647;padding:12px 16px;" +
    "border:0;border-radius:24px;background:#b71c1c;color:#fff;font-size:15px;cursor:pointer";
  toggle.addEventListener("click", function () {
    open = !open;
    frame.style.display = open ? "block" : "none";
  });
  document.body.appendChild(frame);
  document.body.appendChild(toggle);
})();
