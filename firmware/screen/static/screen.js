// The cart screen's only script: live view over server-sent events, taps without page reloads.
// Every form also works without it (the server answers a POST with a redirect to /).
"use strict";
(function () {
  const main = document.getElementById("view");
  const toasts = document.getElementById("toasts");
  let lastToast = Number(main.dataset.toast || 0);

  function showToast(t) {
    const el = document.createElement("div");
    el.className = "toast " + t.kind;
    el.textContent = t.text;
    toasts.appendChild(el);
    setTimeout(() => el.remove(), 3500);
    while (toasts.children.length > 3) toasts.firstChild.remove();
  }

  function connect() {
    // From the version this page was rendered at: no re-render unless something changed.
    const es = new EventSource("/events?toast=" + lastToast + "&version=" + main.dataset.version);
    es.addEventListener("view", (e) => {
      const msg = JSON.parse(e.data);
      main.innerHTML = msg.html;
      main.dataset.version = msg.version;
      // A receipt or the idle screen is a fresh start: basket toasts would only cover it.
      const phase = main.querySelector("[data-phase]");
      if (phase && phase.dataset.phase !== "shopping") toasts.replaceChildren();
      for (const t of msg.toasts) {
        if (t.id > lastToast) { lastToast = t.id; showToast(t); }
      }
    });
    // EventSource reconnects by itself; nothing else to do when the local server restarts.
  }

  document.addEventListener("submit", (e) => {
    const form = e.target;
    e.preventDefault();
    const button = form.querySelector("button");
    if (button) button.disabled = true;  // one tap, one request
    fetch(form.action, { method: "POST", body: new URLSearchParams(new FormData(form)),
                         headers: { "Accept": "application/json" } })
      .catch(() => { if (button) button.disabled = false; });
  });

  connect();
})();
