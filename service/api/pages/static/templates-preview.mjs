// The template page's live preview: as the subject, message or "Preview for" change, the form
// is sent (with its CSRF token) to the page's preview route, which answers with the rendered
// preview as HTML; a pause in typing sends one request, and an older answer never replaces a
// newer one. Without this script the "Preview" button does the same with a full page.
const form = document.getElementById("template-form");
const target = document.getElementById("template-preview");
const WAIT_MS = 400;

if (form && target && form.dataset.previewUrl) {
  let timer = null;
  let latest = 0;

  const refresh = async () => {
    const sent = ++latest;
    const body = new URLSearchParams(new FormData(form));
    body.delete("action");
    try {
      const reply = await fetch(form.dataset.previewUrl, {
        method: "POST",
        body,
        credentials: "same-origin",
        headers: { Accept: "text/html" },
      });
      if (sent !== latest || (!reply.ok && reply.status !== 422)) return;
      target.innerHTML = await reply.text();
    } catch {
      // Offline or the server restarting: the Preview button still works.
    }
  };

  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, WAIT_MS);
  };

  form.addEventListener("input", soon);
  form.addEventListener("change", soon);
}
