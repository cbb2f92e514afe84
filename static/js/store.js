// Small cached values (who is signed in, profile, protocol) so the app starts
// without the network. Diary entries live in IndexedDB (outbox.js), not here.

const PREFIX = 'diary.';

export function load(key) {
  try {
    return JSON.parse(localStorage.getItem(PREFIX + key));
  } catch {
    return null;
  }
}

export function save(key, value) {
  try {
    if (value == null) localStorage.removeItem(PREFIX + key);
    else localStorage.setItem(PREFIX + key, JSON.stringify(value));
  } catch {
    // Private mode or full storage: the app still works, only slower to start.
  }
}

export function forgetUser() {
  for (const key of ['user', 'profile', 'protocol']) save(key, null);
}
