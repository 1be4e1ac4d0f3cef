// vsx web page: search by a sample image or an upload, open a result (click), come back (dwell).
// Plain script, no build step. Events go to /v1/events with `keepalive` so a dwell survives closing the tab.
// A catalog-image search is kept in the URL (?image=ID): reload, back/forward and shared links repeat it.
(function () {
  "use strict";

  const userId = document.body.dataset.userId;
  const $ = (id) => document.getElementById(id);
  let current = null;   // the last search response
  let opened = null;    // {result, startedAt} while the detail view is open

  function imageUrl(imageId) {
    return "/v1/images/" + imageId.split("/").map(encodeURIComponent).join("/");
  }

  function showError(message) {
    const box = $("error");
    box.textContent = message;
    box.hidden = !message;
  }

  function setStatus(text) {
    $("status").textContent = text;
    document.body.dataset.lastStatus = text;
  }

  async function search(init, queryLabel, querySrc) {
    showError("");
    setStatus("searching…");
    const response = await fetch("/v1/search", {
      method: "POST",
      ...init,
      headers: { "X-User-Id": userId, "X-Attr-Platform": "web", ...(init.headers || {}) },
    });
    const body = await response.json();
    if (!response.ok) {
      setStatus("");
      showError(body.error ? body.error.message : "search failed (" + response.status + ")");
      return;
    }
    current = body;
    render(body, queryLabel, querySrc);
  }

  // Which encoder and index produced the list; an interleaving experiment merges two teams' lists.
  function rankersText(rankers) {
    if (rankers.length === 1) return [rankers[0].encoder, rankers[0].index];
    const teams = ["A", "B"];
    return [
      rankers.map((r, i) => r.encoder + " (" + teams[i] + ")").join(" + ") + ", interleaved",
      rankers.map((r, i) => r.index + " (" + teams[i] + ")").join(" + "),
    ];
  }

  function render(body, queryLabel, querySrc) {
    $("results-panel").hidden = false;
    $("query-image").src = querySrc;
    const arm = body.assignments.map((a) => a.experiment + " · " + a.variant).join(", ") || "default";
    $("assignment").textContent = arm;
    $("summary").innerHTML = "";
    const [encoder, index] = rankersText(body.rankers);
    const lines = [
      ["query", queryLabel],
      ["variant", arm],
      ["encoder", encoder],
      ["index", index],
      ["results", String(body.results.length)],
      ["latency", body.latency_ms.toFixed(1) + " ms"],
    ];
    for (const [key, value] of lines) {
      const row = document.createElement("div");
      row.innerHTML = "<span></span><strong></strong>";
      row.firstChild.textContent = key;
      row.lastChild.textContent = value;
      $("summary").appendChild(row);
    }
    const grid = $("results");
    grid.innerHTML = "";
    for (const result of body.results) {
      const card = document.createElement("button");
      card.type = "button";
      card.className = "result";
      card.dataset.imageId = result.image_id;
      card.dataset.position = result.position;
      card.innerHTML = '<img alt=""><span class="rank"></span><span class="caption"></span>';
      card.querySelector("img").src = result.url;
      card.querySelector(".rank").textContent = "#" + result.position;
      card.querySelector(".caption").textContent = (result.label || result.image_id) + " · " + result.score.toFixed(3);
      card.addEventListener("click", () => openDetail(result));
      grid.appendChild(card);
    }
    setStatus(body.results.length + " results");
    $("results-panel").scrollIntoView({ behavior: "smooth", block: "start" });
  }

  function sendEvents(events) {
    return fetch("/v1/events", {
      method: "POST",
      keepalive: true,
      headers: { "Content-Type": "application/json", "X-User-Id": userId },
      body: JSON.stringify({ events }),
    }).then((response) => {
      if (!response.ok) throw new Error("events rejected: " + response.status);
      setStatus(events.map((e) => e.event_type).join(", ") + " logged");
    }).catch((err) => showError(String(err)));
  }

  function report(eventType, result, extra) {
    return {
      event_type: eventType,
      event_id: crypto.randomUUID ? crypto.randomUUID() : undefined,
      request_id: current.request_id,
      result_image_id: result.image_id,
      position: result.position,
      experiment: current.experiment,
      variant: current.variant,
      query_image_id: current.query_image_id || "",
      ...extra,
    };
  }

  function openDetail(result) {
    opened = { result, startedAt: performance.now() };
    $("detail-image").src = result.url;
    $("detail-title").textContent = result.label || result.image_id;
    $("detail-meta").textContent = "rank " + result.position + " · score " + result.score.toFixed(3) + " · " + result.image_id;
    $("detail").hidden = false;
    history.pushState({ detail: true }, "");
    sendEvents([report("click", result)]);
  }

  // Dwell = time from opening a result until the user comes back (button, Escape, back) or leaves the page.
  function closeDetail(viaHistory) {
    if (!opened) return;
    const dwellMs = Math.round(performance.now() - opened.startedAt);
    sendEvents([report("dwell", opened.result, { dwell_ms: dwellMs })]);
    opened = null;
    $("detail").hidden = true;
    if (!viaHistory && history.state && history.state.detail) history.back();
  }

  function urlImage() {
    return new URLSearchParams(location.search).get("image");
  }

  // A catalog image's search; `remember` adds it to the browser history (a click does, a reload or back does not).
  function searchImage(imageId, label, remember) {
    if (remember && urlImage() !== imageId) {
      history.pushState({ image: imageId }, "", "?image=" + encodeURIComponent(imageId));
    }
    return search(
      { headers: { "Content-Type": "application/json" }, body: JSON.stringify({ image_id: imageId }) },
      label || imageId,
      imageUrl(imageId),
    );
  }

  $("detail-close").addEventListener("click", () => closeDetail(false));
  $("detail").addEventListener("click", (e) => { if (e.target === $("detail")) closeDetail(false); });
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") closeDetail(false); });
  window.addEventListener("popstate", () => {
    if (opened) { closeDetail(true); return; }
    const imageId = urlImage();
    if (imageId && (!current || current.query_image_id !== imageId)) searchImage(imageId, null, false);
  });
  window.addEventListener("pagehide", () => closeDetail(true));

  for (const button of document.querySelectorAll("#sample-grid .sample")) {
    button.addEventListener("click", () => searchImage(button.dataset.imageId, button.title, true));
  }

  $("upload-input").addEventListener("change", () => {
    const file = $("upload-input").files[0];
    $("upload-name").textContent = file ? file.name : "or upload an image";
  });

  $("upload-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const file = $("upload-input").files[0];
    if (!file) { showError("choose an image file first"); return; }
    const form = new FormData();
    form.append("image", file);
    if (urlImage()) history.pushState({}, "", location.pathname);  // an upload cannot live in the URL
    search({ body: form }, file.name, URL.createObjectURL(file));
  });

  if (urlImage()) searchImage(urlImage(), null, false);
})();
