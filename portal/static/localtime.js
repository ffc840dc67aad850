// Shows <time data-local datetime="...Z"> in the viewer's local time; the UTC text stays as the tooltip.
document.addEventListener("DOMContentLoaded", function () {
  var nodes = document.querySelectorAll("time[data-local]");
  for (var i = 0; i < nodes.length; i++) {
    var node = nodes[i];
    var when = new Date(node.getAttribute("datetime"));
    if (isNaN(when.getTime())) continue;
    node.title = node.textContent;
    node.textContent = when.toLocaleString(undefined, {
      year: "numeric", month: "short", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short"
    });
  }
});
