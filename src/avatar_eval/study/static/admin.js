// avatar-eval study: admin page. The secret is sent as an Authorization header (never a cookie).
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  let secret = sessionStorage.getItem("ae_admin") || "";

  function showError(msg) { const e = $("error"); e.textContent = msg; e.hidden = !msg; }

  async function call(path, body) {
    const opts = { headers: { Authorization: "Bearer " + secret } };
    if (body !== undefined) {
      opts.method = "POST";
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(path, opts);
  }

  function fillTable(table, rows) {
    table.replaceChildren();
    if (!rows.length) return;
    const head = document.createElement("tr");
    for (const k of Object.keys(rows[0])) {
      const th = document.createElement("th"); th.textContent = k; head.appendChild(th);
    }
    table.appendChild(head);
    for (const r of rows) {
      const tr = document.createElement("tr");
      for (const v of Object.values(r)) {
        const td = document.createElement("td"); td.textContent = String(v); tr.appendChild(td);
      }
      table.appendChild(tr);
    }
  }

  async function refresh() {
    const r = await call("/admin/api/progress");
    if (r.status !== 200) { showError(`Not authorised (${r.status})`); return; }
    showError("");
    const d = await r.json();
    fillTable($("progress"), [d.progress]);
    fillTable($("participants"), d.participants);
    $("login").hidden = true;
    $("panel").hidden = false;
  }

  async function download(fmt) {
    const r = await call("/admin/api/export?format=" + fmt);
    if (r.status !== 200) { showError(`Export failed (${r.status})`); return; }
    const blob = await r.blob();
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = "votes." + fmt;
    a.click();
  }

  $("login").addEventListener("submit", (ev) => {
    ev.preventDefault();
    secret = $("secret").value;
    sessionStorage.setItem("ae_admin", secret);
    refresh();
  });
  $("export-csv").addEventListener("click", () => download("csv"));
  $("export-jsonl").addEventListener("click", () => download("jsonl"));
  $("make-invites").addEventListener("click", async () => {
    const n = parseInt($("n-invites").value, 10);
    const r = await call("/admin/api/invites", { n });
    if (r.status !== 200) { showError(`Could not create invites (${r.status})`); return; }
    const d = await r.json();
    $("invite-links").value = d.invites.map((i) => i.link).join("\n");
    refresh();
  });
  if (secret) refresh();
})();
