// Custos pages: deadlines count down while a page stays open. Elements with data-due (unix ms)
// show the time left (or, overdue, the time since); the server's clock (data-now on <body>)
// is the reference, so a wrong clock on this computer does not matter.
(function () {
  "use strict";
  var loaded = Date.now();
  function serverNow() {
    return Number(document.body.dataset.now || loaded) + (Date.now() - loaded);
  }
  function show(el) {
    var due = Number(el.dataset.due);
    var now = serverNow();
    var minutes = Math.floor(Math.abs(due - now) / 60000);
    var hours = Math.floor(minutes / 60);
    var h = document.body.dataset.h || "h";
    var min = document.body.dataset.min || "min";
    var span = hours > 0 ? hours + " " + h + " " + (minutes % 60) + " " + min : minutes + " " + min;
    el.textContent = due >= now ? span : "\u2212" + span;
    el.classList.toggle("overdue", due < now);
  }
  function tick() {
    document.querySelectorAll("[data-due]").forEach(show);
  }
  // The KYC provider's widget (loaded only on its page, which allows it in its CSP).
  function startVerification() {
    var box = document.getElementById("sumsub-websdk-container");
    if (!box || !window.snsWebSdk) {
      return;
    }
    var token = box.dataset.token;
    window.snsWebSdk
      .init(token, function () {
        return Promise.resolve(token);
      })
      .withConf({ lang: box.dataset.lang })
      .build()
      .launch("#sumsub-websdk-container");
  }
  // Copy buttons: data-copy holds the text; the button says so once it is copied.
  function copyButtons() {
    document.querySelectorAll("button[data-copy]").forEach(function (b) {
      b.addEventListener("click", function () {
        if (!navigator.clipboard) {
          return;
        }
        navigator.clipboard.writeText(b.dataset.copy).then(function () {
          b.textContent = b.dataset.copied;
        });
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    window.setInterval(tick, 30000);
    copyButtons();
    startVerification();
  });
})();
