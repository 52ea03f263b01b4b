/* Staff console: refreshes the progress of broadcasts being sent, every two seconds, from
   GET …/progress (same origin). Without JavaScript the page offers a 刷新进度 link instead. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function show(scope, name, value) {
    scope.querySelectorAll('[data-field="' + name + '"]').forEach(function (node) { node.textContent = value; });
  }

  function poll(block) {
    var url = block.getAttribute("data-progress");
    var scope = block.closest("tr") || block.closest("main");
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (p) {
        var bar = block.querySelector("progress");
        bar.max = Math.max(p.recipients, 1);
        bar.value = p.recipients ? p.finished : (p.live ? 0 : 1);
        bar.textContent = p.percent + " %";
        show(block, "percent", p.percent + " %");
        ["recipients", "sent", "failed", "blocked", "pending", "status_name"].forEach(function (name) {
          show(scope, name, p[name]);
        });
        scope.querySelectorAll(".tag[data-field=status_name]").forEach(function (tag) {
          tag.className = "tag " + p.status;
        });
        if (p.live) {
          window.setTimeout(function () { poll(block); }, 2000);
        } else {
          block.removeAttribute("data-progress");
        }
      })
      .catch(function () { /* the 刷新进度 link still works */ });
  }

  document.querySelectorAll("[data-progress]").forEach(function (block) {
    window.setTimeout(function () { poll(block); }, 1000);
  });
})();
