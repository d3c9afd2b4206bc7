const KEY = "rsvp.token";

/** The bearer token this browser keeps for the service, if any. */
export function loadToken(): string {
  try {
    return localStorage.getItem(KEY)?.trim() ?? "";
  } catch {
    return ""; // storage disabled: the page works as if no token was set
  }
}

/**
 * The token form: saving stores the token (an empty one removes it) and reloads the page, so
 * every call, the live stream included, starts over as the new caller.
 */
export function setupTokenForm(form: HTMLFormElement): void {
  const input = form.elements.namedItem("token");
  if (!(input instanceof HTMLInputElement)) throw new Error("the token form has no token field");
  input.value = loadToken();
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const token = input.value.trim();
    if (token) localStorage.setItem(KEY, token);
    else localStorage.removeItem(KEY);
    location.reload();
  });
}

/**
 * The `role` claim of the saved token, read without checking the signature: the page only uses
 * it to decide what to draw (busy blocks for a `user`); the service decides what is allowed.
 */
export function tokenRole(): string {
  const payload = loadToken().split(".")[1];
  if (!payload) return "";
  try {
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
    const role = (JSON.parse(json) as { role?: unknown }).role;
    return typeof role === "string" ? role : "";
  } catch {
    return "";
  }
}
