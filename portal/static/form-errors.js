// Move focus to a refused form's error summary, so it is seen and announced without scrolling.
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.querySelector("[data-error-summary]");
  if (!summary) return;
  var section = summary.closest("details");
  if (section) section.open = true;
  summary.focus();
  summary.scrollIntoView({block: "start"});
});
