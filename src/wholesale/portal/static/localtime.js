// Show each <time data-local> in the reader's own time zone and language; the server writes it in UTC, which
// stays in the tooltip. No build step: plain script, re-run after htmx swaps content in.
(function () {
  function localise(root) {
    (root || document).querySelectorAll("time[data-local]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (isNaN(d)) return;
      t.title = t.textContent;
      t.textContent = d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
      t.removeAttribute("data-local");
    });
  }
  document.addEventListener("DOMContentLoaded", function () { localise(); });
  document.addEventListener("htmx:afterSwap", function (e) { localise(e.target); });
})();
