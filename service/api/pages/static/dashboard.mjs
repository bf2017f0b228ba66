// Live figures for the dashboard's communication tree: the server sends the counts as
// server-sent events whenever they change. Screen readers hear a short summary, at most every
// ANNOUNCE_EVERY_MS, through a polite live region; the Refresh link still works without this.
const ANNOUNCE_EVERY_MS = 15000;
const FIGURES = ["total", "reached", "acknowledged", "notified", "waiting", "broken"];

const section = document.getElementById("cascade");
const url = section && section.dataset.eventsUrl;

if (url && "EventSource" in window) {
  const live = document.getElementById("cascade-live");
  const updated = document.getElementById("cascade-updated");
  let lastAnnounced = 0;
  let pending = null;

  const setText = (element, value) => {
    if (element && element.textContent !== String(value)) {
      element.textContent = String(value);
    }
  };

  const announce = (counts) => {
    const text =
      `Communication tree: ${counts.reached} of ${counts.total} reached, ` +
      `${counts.acknowledged} acknowledged, ${counts.broken} broken.`;
    const now = Date.now();
    const wait = lastAnnounced + ANNOUNCE_EVERY_MS - now;
    if (pending) clearTimeout(pending);
    if (wait <= 0) {
      lastAnnounced = now;
      setText(live, text);
    } else {
      pending = setTimeout(() => announce(counts), wait);
    }
  };

  const show = (counts) => {
    for (const figure of FIGURES) {
      setText(document.getElementById(`cascade-${figure}`), counts[figure]);
    }
    for (const level of counts.levels) {
      const row = document.querySelector(`#cascade-levels tr[data-level="${level.level}"]`);
      if (!row) continue;
      for (const figure of FIGURES) {
        setText(row.querySelector(`[data-figure="${figure}"]`), level[figure]);
      }
    }
    setText(
      updated,
      new Date()
        .toLocaleTimeString("en-GB", { timeZone: "Europe/London", hour: "numeric", minute: "2-digit", second: "2-digit", hour12: true })
    );
    section.dataset.live = "on";
  };

  // The chart is drawn on the server: when the figures change, fetch it again and put it in
  // place (the details stay open if they were).
  const slot = document.getElementById("cascade-over-time-slot");
  let redrawing = false;
  const redraw = async () => {
    if (!slot || redrawing) return;
    redrawing = true;
    try {
      const reply = await fetch(slot.dataset.url, { credentials: "same-origin" });
      if (!reply.ok) return;
      const open = slot.querySelector("details[open]") !== null;
      const html = await reply.text();
      const fresh = new DOMParser().parseFromString(html, "text/html").getElementById("cascade-over-time");
      const current = document.getElementById("cascade-over-time");
      if (!fresh || !current) return;
      const placed = document.importNode(fresh, true);
      if (open) placed.querySelector("details")?.setAttribute("open", "");
      current.replaceWith(placed);
      slot.dataset.redrawn = String(Number(slot.dataset.redrawn || "0") + 1);
    } finally {
      redrawing = false;
    }
  };

  // The first event repeats what the page already shows; later ones (and those after a
  // reconnection) are announced only when a figure changed.
  let shown = null;
  const source = new EventSource(url);
  source.addEventListener("counts", (event) => {
    const counts = JSON.parse(event.data);
    show(counts);
    if (shown !== null && shown !== event.data) {
      announce(counts);
      redraw();
    }
    shown = event.data;
  });
}
