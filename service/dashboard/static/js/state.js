// The view's state lives in the URL hash, so "copy link" restores exactly this view.

const KEYS = ["lang", "theme", "ind", "mode", "year", "pool", "gm", "level", "x", "y", "sl", "ml", "bd"];

export function readHash() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ""));
  const state = {};
  for (const key of KEYS) {
    const value = params.get(key);
    if (value) state[key] = value;
  }
  return state;
}

export function writeHash(state) {
  const params = new URLSearchParams();
  for (const key of KEYS) {
    if (state[key]) params.set(key, state[key]);
  }
  const hash = `#${params}`;
  if (hash !== location.hash) history.replaceState(null, "", hash);
}
