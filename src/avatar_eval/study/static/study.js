// avatar-eval study: participant page. No inline script (CSP: script-src 'self').
// All text from the server is inserted with textContent, never as HTML.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const L = $("video-left"), R = $("video-right");
  let csrf = "";
  let trial = null;        // {id, left, right}
  let study = null;        // study info from the server
  let answers = {};
  let plays = 0, endedL = false, endedR = false, watched = false;
  let shownAt = 0, busy = false, syncTimer = null;

  const ANSWER_LABELS = {
    "2afc": { left: "Left", right: "Right" },
    "gsb": { left: "Left is better", same: "About the same", right: "Right is better" },
  };

  function showError(msg) {
    const e = $("error");
    e.textContent = msg;
    e.hidden = !msg;
  }

  async function api(path, body) {
    const opts = { credentials: "same-origin", headers: {} };
    if (body !== undefined) {
      opts.method = "POST";
      opts.headers["Content-Type"] = "application/json";
      opts.headers["X-CSRF-Token"] = csrf;
      opts.body = JSON.stringify(body);
    }
    const r = await fetch(path, opts);
    let data = null;
    try { data = await r.json(); } catch (_) { data = null; }
    return { status: r.status, data };
  }

  function setProgress(p) {
    const pct = p.total ? Math.round((100 * p.done) / p.total) : 0;
    $("progress-fill").style.width = pct + "%";
    $("progress-text").textContent = p.total ? `${p.done} / ${p.total}` : "";
  }

  function show(section) {
    for (const id of ["loading", "instructions", "trial", "done"]) $(id).hidden = id !== section;
  }

  function render(st) {
    csrf = st.csrf || csrf;
    study = st.study || study;
    setProgress(st.progress || { done: 0, total: 0 });
    if (st.phase === "instructions") {
      const box = $("instructions-text");
      box.replaceChildren();
      for (const para of (study.instructions || "").split("\n")) {
        if (!para.trim()) continue;
        const p = document.createElement("p");
        p.textContent = para;
        box.appendChild(p);
      }
      show("instructions");
    } else if (st.phase === "trial") {
      if (!trial || trial.id !== st.trial.id) setupTrial(st.trial);
      show("trial");
    } else if (st.phase === "done") {
      stopBoth();
      $("completion-code").textContent = st.completion_code || "";
      show("done");
    }
  }

  function setupTrial(t) {
    trial = t;
    answers = {};
    plays = 0; endedL = false; endedR = false;
    watched = !study.require_full_play;
    shownAt = performance.now();
    stopBoth();
    L.src = t.left; R.src = t.right;
    L.load(); R.load();
    applyAudio();
    $("watch-hint").hidden = watched;
    buildQuestions();
    updateSubmit();
  }

  function buildQuestions() {
    const form = $("questions");
    form.replaceChildren();
    const labels = ANSWER_LABELS[study.protocol];
    for (const dim of study.dimensions) {
      const fs = document.createElement("fieldset");
      fs.className = "question";
      const lg = document.createElement("legend");
      const strong = document.createElement("strong");
      strong.textContent = dim.label + ": ";
      lg.appendChild(strong);
      lg.appendChild(document.createTextNode(dim.question));
      fs.appendChild(lg);
      const row = document.createElement("div");
      row.className = "answers";
      for (const a of study.answers) {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "answer answer-" + a;
        b.dataset.dim = dim.key;
        b.dataset.answer = a;
        b.setAttribute("aria-pressed", "false");
        b.textContent = labels[a] || a;
        b.addEventListener("click", () => {
          answers[dim.key] = a;
          for (const o of row.querySelectorAll("button"))
            o.setAttribute("aria-pressed", o === b ? "true" : "false");
          updateSubmit();
        });
        row.appendChild(b);
      }
      fs.appendChild(row);
      form.appendChild(fs);
    }
  }

  function allAnswered() {
    return study && study.dimensions.every((d) => answers[d.key] !== undefined);
  }

  function updateSubmit() {
    $("submit").disabled = busy || !watched || !allAnswered();
    $("watch-hint").hidden = watched;
  }

  function applyAudio() {
    const src = $("audio-source").value;
    L.muted = src !== "left";
    R.muted = src !== "right";
  }

  function stopBoth() {
    L.pause(); R.pause();
    if (syncTimer) { clearInterval(syncTimer); syncTimer = null; }
  }

  function playing() { return !L.paused || !R.paused; }

  async function playBoth() {
    if (endedL && endedR) { L.currentTime = 0; R.currentTime = 0; endedL = endedR = false; }
    if (Math.abs(L.currentTime - R.currentTime) > 0.05 && !endedL && !endedR)
      R.currentTime = L.currentTime;
    plays += 1;
    try {
      await Promise.all([L.play(), R.play()]);
    } catch (e) {
      showError("The videos could not be played: " + e.message);
      return;
    }
    if (!syncTimer) syncTimer = setInterval(keepInSync, 200);
  }

  function keepInSync() {
    if (L.paused || R.paused || L.ended || R.ended) return;
    if (Math.abs(L.currentTime - R.currentTime) > 0.12) R.currentTime = L.currentTime;
  }

  function onEnded(side) {
    if (side === "left") endedL = true; else endedR = true;
    if (endedL && endedR) {
      stopBoth();
      if (!watched) { watched = true; updateSubmit(); }
    }
  }

  async function submit() {
    if (busy || !trial || !allAnswered() || !watched) return;
    busy = true; updateSubmit();
    const body = {
      trial_id: trial.id, answers,
      client_rt_ms: Math.round(performance.now() - shownAt),
      plays, watched_full: endedL && endedR || watched,
    };
    const r = await api("/api/vote", body);
    busy = false;
    if (r.status === 200) {
      showError("");
      render(r.data.state);
    } else if (r.status === 409) {
      const s = await api("/api/state");
      if (s.status === 200) render(s.data);
    } else {
      showError((r.data && r.data.detail ? String(r.data.detail) : "Error") + ` (${r.status})`);
    }
    updateSubmit();
  }

  async function start() {
    const r = await api("/api/start", {});
    if (r.status === 200) render(r.data);
    else showError(`Could not start (${r.status})`);
  }

  async function init() {
    L.addEventListener("ended", () => onEnded("left"));
    R.addEventListener("ended", () => onEnded("right"));
    L.addEventListener("error", () => showError("The left video failed to load."));
    R.addEventListener("error", () => showError("The right video failed to load."));
    $("playpause").addEventListener("click", () => (playing() ? stopBoth() : playBoth()));
    $("restart").addEventListener("click", () => {
      stopBoth(); L.currentTime = 0; R.currentTime = 0; endedL = endedR = false;
    });
    $("audio-source").addEventListener("change", applyAudio);
    $("submit").addEventListener("click", submit);
    $("start").addEventListener("click", start);
    const r = await api("/api/state");
    if (r.status === 200) render(r.data);
    else showError("Please open the invite link you were given." + ` (${r.status})`);
  }

  init();
})();
