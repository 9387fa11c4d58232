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
    var span = hours > 0 ? hours + " h " + (minutes % 60) + " min" : minutes + " min";
    el.textContent = due >= now ? span : "\u2212" + span;
    el.classList.toggle("overdue", due < now);
  }
  function tick() {
    document.querySelectorAll("[data-due]").forEach(show);
  }
  document.addEventListener("DOMContentLoaded", function () {
    window.setInterval(tick, 30000);
  });
})();
