// Live import progress on the admin's import job pages: polls the admin's progress endpoint
// for the jobs on the page that are still running and refreshes their figures in place.
// On a job's own page, the page reloads once when the job finishes (to show its row errors).
(function () {
  "use strict";
  var INTERVAL_MS = 1000, BACKOFF_MS = 5000;

  function bars() { return document.querySelectorAll('[data-job-field="bar"]'); }

  function running() {
    var ids = [];
    bars().forEach(function (bar) {
      if (bar.dataset.finished !== "1" && ids.indexOf(bar.dataset.job) < 0) { ids.push(bar.dataset.job); }
    });
    return ids;
  }

  function paint(job) {
    document.querySelectorAll('[data-job="' + job.id + '"][data-job-field]').forEach(function (node) {
      var field = node.dataset.jobField;
      if (field === "bar") {
        node.title = job.progress + "%";
        node.dataset.finished = job.finished ? "1" : "0";
        var fill = node.querySelector(".import-bar-fill");
        fill.style.width = Math.floor(job.progress) + "%";
        fill.style.background = job.barColour;
        node.querySelector(".import-pct").textContent = job.text.progress;
      } else if (field in job.text) {
        node.textContent = job.text[field];
      }
    });
  }

  function poll() {
    var ids = running();
    if (!ids.length) { return; }
    var url = bars()[0].dataset.progressUrl + "?ids=" + ids.join(",");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("progress " + response.status); }
        return response.json();
      })
      .then(function (body) {
        var finishedNow = false;
        body.jobs.forEach(function (job) {
          if (job.finished) { finishedNow = true; }
          paint(job);
        });
        if (finishedNow && document.body.classList.contains("change-form")) {
          window.location.reload();
          return;
        }
        window.setTimeout(poll, INTERVAL_MS);
      })
      .catch(function () { window.setTimeout(poll, BACKOFF_MS); });
  }

  document.addEventListener("DOMContentLoaded", function () { window.setTimeout(poll, INTERVAL_MS); });
})();
