// Small enhancements; every page but the upload works without them.
// - dates in the browser's own time zone (the server writes UTC)
// - the upload form: the file goes up with a progress bar, then the import is followed
(function () {
  "use strict";

  function localDates() {
    var dateFmt = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "long", year: "numeric" });
    var fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "long", timeStyle: "short" });
    document.querySelectorAll("time[datetime]").forEach(function (el) {
      var iso = el.getAttribute("datetime");
      if (!iso) { return; }
      var when = new Date(iso);
      if (isNaN(when.getTime())) { return; }
      var kind = el.getAttribute("data-local");
      if (kind === "date") { el.textContent = dateFmt.format(when); }
      else if (kind === "datetime") { el.textContent = fullFmt.format(when); }
      if (el.hasAttribute("data-relative")) { el.title = fullFmt.format(when); }
    });
  }

  function uploads() {
    var form = document.getElementById("upload");
    if (!form) { return; }
    var input = form.querySelector("input[type=file]");
    var box = form.querySelector(".upload-progress");
    var bar = form.querySelector("progress");
    var status = form.querySelector(".status");
    var button = form.querySelector("button[type=submit]");

    function say(text, bad) {
      status.textContent = text;
      status.classList.toggle("error", !!bad);
    }

    function follow(url) {
      fetch(url, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
        .then(function (answer) {
          var s = answer.body;
          if (!answer.ok) { say(s.message || "Kith lost track of this upload.", true); button.disabled = false; return; }
          say(s.text, s.state === "failed");
          if (s.state === "done") {
            bar.value = 100;
            button.disabled = false;
            var link = document.createElement("a");
            link.href = "/";
            link.textContent = " Show the new ties";
            status.appendChild(link);
          } else if (s.state === "failed") {
            bar.value = 0;
            button.disabled = false;
          } else {
            bar.removeAttribute("value"); // indeterminate: the import's length is not known ahead
            window.setTimeout(function () { follow(url); }, 700);
          }
        })
        .catch(function () { say("Kith did not answer; the import may still be running.", true); button.disabled = false; });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var file = input.files && input.files[0];
      if (!file) { say("Choose a file first.", true); return; }
      var xhr = new XMLHttpRequest();
      xhr.open("POST", "/uploads?name=" + encodeURIComponent(file.name));
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      xhr.setRequestHeader("X-CSRF-Token", form.getAttribute("data-csrf"));
      box.hidden = false;
      bar.value = 0;
      button.disabled = true;
      say("Uploading " + file.name + "…");
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          bar.value = Math.round((e.loaded / e.total) * 100);
          say("Uploading: " + bar.value + "%");
        }
      });
      xhr.addEventListener("load", function () {
        var body = {};
        try { body = JSON.parse(xhr.responseText || "{}"); } catch (e) { body = {}; }
        if (xhr.status === 202) { follow(body.status_url); return; }
        say(body.message || "The upload was refused.", true);
        button.disabled = false;
      });
      xhr.addEventListener("error", function () { say("The upload did not reach Kith.", true); button.disabled = false; });
      xhr.send(file);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    localDates();
    uploads();
    document.body.setAttribute("data-ready", "1");
  });
})();
