// The dashboard's only script: live re-render over server-sent events, staff forms via fetch.
// Without it the page still works: links navigate, forms post and redirect back.
"use strict";
(function () {
  const main = document.getElementById("view");
  const flash = document.getElementById("flash");
  const live = document.getElementById("live");
  const session = main.dataset.session;

  function say(text) {
    flash.textContent = text;
    flash.hidden = !text;
  }

  // A re-render must not close a line's refund form that staff just opened (the first view
  // arrives when the stream connects, which can be after the click on a busy machine).
  function render(html) {
    const open = new Set([...main.querySelectorAll("details[open]")].map((d) => d.dataset.key));
    main.innerHTML = html;
    for (const d of main.querySelectorAll("details[data-key]")) {
      if (open.has(d.dataset.key)) d.open = true;
    }
  }

  const es = new EventSource("/dashboard/events" + (session ? "?session=" + session : ""));
  es.addEventListener("view", (e) => {
    // Keep an open refund form (and what staff typed) while nothing else is being edited.
    if (main.contains(document.activeElement) && document.activeElement.tagName === "INPUT") return;
    render(JSON.parse(e.data).html);
    live.classList.remove("down");
    live.textContent = "live";
  });
  es.onerror = () => { live.classList.add("down"); live.textContent = "reconnecting"; };

  document.addEventListener("submit", async (e) => {
    const form = e.target;
    e.preventDefault();
    const button = form.querySelector("button");
    button.disabled = true;
    const resp = await fetch(form.action, {
      method: "POST", body: new URLSearchParams(new FormData(form)),
      headers: { "Accept": "application/json" },
    });
    if (resp.ok) {
      say("");
      document.activeElement.blur();
      const fresh = await fetch("/dashboard/fragment" + (session ? "?session=" + session : ""));
      main.innerHTML = await fresh.text();  // done: the form closes
      return;
    }
    button.disabled = false;
    say((await resp.json()).detail || ("error " + resp.status));
  });
})();
