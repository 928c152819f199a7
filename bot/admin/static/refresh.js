// Progressive refresh: an element with data-refresh-url is fetched again every
// data-refresh-seconds while the tab is visible, and its content replaced. Without this
// script the pages still work (a reload shows the same thing). When the session has
// expired the fetch lands on the login page: the whole page reloads instead.
(function () {
  "use strict";
  document.querySelectorAll("[data-refresh-url]").forEach(function (el) {
    var seconds = parseInt(el.getAttribute("data-refresh-seconds") || "0", 10);
    if (!seconds) { return; }
    var url = el.getAttribute("data-refresh-url");
    var busy = false;
    window.setInterval(function () {
      if (busy || document.visibilityState !== "visible") { return; }
      busy = true;
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) {
          if (response.redirected || !response.ok) { window.location.reload(); return null; }
          return response.text();
        })
        .then(function (html) { if (html !== null && el.innerHTML !== html) { el.innerHTML = html; } })
        .catch(function () { /* offline for a moment: try again next time */ })
        .finally(function () { busy = false; });
    }, seconds * 1000);
  });
})();
