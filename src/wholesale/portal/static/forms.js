// A form's error summary (the list of every problem of a submit, at the top): focused when the page opens, so a
// screen reader reads it and the keyboard starts there; each of its links moves the focus to the field it names
// (a plain in-page link only scrolls), showing the field's label and error with it. No build step: plain script.
(function () {
  function onLink(event) {
    var link = event.target.closest("a[href^='#']");
    if (!link) return;
    var target = document.getElementById(link.getAttribute("href").slice(1));
    if (!target) return;
    event.preventDefault();
    (target.closest(".field, fieldset") || target).scrollIntoView({ block: "start" });
    target.focus({ preventScroll: true });
    history.replaceState(null, "", link.getAttribute("href"));
  }
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector("[data-error-summary]");
    if (!summary) return;
    summary.addEventListener("click", onLink);
    summary.focus();
  });
})();
