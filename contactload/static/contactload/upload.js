/* contactload upload pages, vanilla JS with no build step.
   Upload form: reference fields and columns follow the chosen campaign and action;
   a CSV can be dropped on the form. Job page: polls the job's status until it ends. */
(function () {
  "use strict";

  var FINAL = ["completed", "failed"];

  function byId(id) {
    return document.getElementById(id);
  }

  function setupForm(form) {
    var campaigns = {};
    JSON.parse(byId("campaign-data").textContent).forEach(function (campaign) {
      campaigns[campaign.name] = campaign;
    });
    var campaign = byId("campaign");
    var reference = byId("reference_field");
    var fileInput = byId("file");
    var drop = byId("drop");

    function action() {
      return form.querySelector("input[name=action_type]:checked").value;
    }

    function refresh() {
      var chosen = campaigns[campaign.value];
      var previous = reference.value;
      var isUpdate = action() === "update";
      reference.length = 1; // keep the blank option
      chosen.references.forEach(function (name) {
        reference.add(new Option(name, name, false, name === previous));
      });
      if (isUpdate && !reference.value) {
        reference.value = "numeric";
      }
      reference.disabled = !isUpdate; // a disabled select is not sent: inserts carry none
      reference.required = isUpdate;
      reference.options[0].text = isUpdate ? "— choose a field —" : "— insert needs none —";
      byId("reference-row").classList.toggle("off", !isUpdate);
      byId("columns-action").textContent = isUpdate ? "an update" : "an insert";
      byId("columns").textContent = chosen.headers[action()].join(", ");
    }

    function showFile() {
      var file = fileInput.files[0];
      if (file) {
        byId("file-name").textContent = file.name + " · " + (file.size / 1024).toFixed(1) + " KB";
        drop.classList.add("chosen");
      }
    }

    campaign.addEventListener("change", refresh);
    form.querySelectorAll("input[name=action_type]").forEach(function (radio) {
      radio.addEventListener("change", refresh);
    });
    fileInput.addEventListener("change", showFile);
    ["dragenter", "dragover"].forEach(function (type) {
      drop.addEventListener(type, function (event) {
        event.preventDefault();
        drop.classList.add("over");
      });
    });
    ["dragleave", "drop"].forEach(function (type) {
      drop.addEventListener(type, function () {
        drop.classList.remove("over");
      });
    });
    drop.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files.length) {
        fileInput.files = event.dataTransfer.files;
        showFile();
      }
    });
    form.addEventListener("submit", function () {
      var button = byId("submit");
      button.disabled = true;
      button.textContent = "Uploading…";
    });
    refresh();
  }

  function setupJob(section) {
    var url = section.dataset.statusUrl;
    var retryDelay = 1000;

    function show(body) {
      var percent = body.progress + " %";
      var bar = byId("progress-bar");
      bar.style.width = body.progress + "%";
      bar.className = "bar state-" + body.state;
      byId("progress").setAttribute("aria-valuenow", body.progress);
      byId("progress-text").textContent = percent;
      byId("state").textContent = body.state;
      byId("state").className = "state state-" + body.state;
      byId("status-message").textContent = body.status;
      ["total", "inserted", "updated", "rejected"].forEach(function (name) {
        byId("count-" + name).textContent = body[name];
      });
      byId("failed").hidden = !body.errors;
      byId("failed").textContent = body.errors || "";
      byId("rejected-download").hidden = !(body.state === "completed" && body.rejected > 0);
      document.title = "Upload " + percent + " · contactload";
    }

    function note(text) {
      byId("connection").hidden = !text;
      byId("connection").textContent = text || "";
    }

    function poll() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          return response.json().then(function (body) {
            return { ok: response.ok, body: body };
          });
        })
        .then(function (answer) {
          if (!answer.ok) {
            note(answer.body.errors || "The status could not be read.");
            return; // a 403 or 404 will not mend itself: stop polling
          }
          note("");
          retryDelay = 1000;
          show(answer.body);
          if (FINAL.indexOf(answer.body.state) === -1) {
            window.setTimeout(poll, 1000);
          }
        })
        .catch(function () {
          note("Connection lost; retrying…");
          retryDelay = Math.min(retryDelay * 2, 15000);
          window.setTimeout(poll, retryDelay);
        });
    }

    if (FINAL.indexOf(section.dataset.state) === -1) {
      poll();
    }
  }

  var form = byId("upload-form");
  if (form) {
    setupForm(form);
  }
  var job = byId("job");
  if (job) {
    setupJob(job);
  }
})();
