// Dates are diary dates (YYYY-MM-DD) in the participant's zone; instants carry
// the device's own UTC offset, as the server records them.

const pad = (n) => String(n).padStart(2, '0');

/** The local date (YYYY-MM-DD) and time (HH:MM) of `when` in zone `tz`. */
export function zoned(tz, when = new Date()) {
  let parts;
  try {
    parts = new Intl.DateTimeFormat('en-GB', {
      timeZone: tz || undefined, year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
    }).formatToParts(when);
  } catch {
    return zoned(undefined, when);
  }
  const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
  return { date: `${p.year}-${p.month}-${p.day}`, time: `${p.hour}:${p.minute}` };
}

export const localDate = (tz, when) => zoned(tz, when).date;

export function addDays(iso, days) {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** Now as ISO 8601 with the device's offset, e.g. 2026-11-26T20:15:00-06:00. */
export function deviceTime(d = new Date()) {
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const a = Math.abs(off);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:` +
    `${pad(d.getMinutes())}:${pad(d.getSeconds())}${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

/** "Wed 26 Nov" (or with options) for a diary date, independent of the device zone. */
export function showDate(iso, options = { weekday: 'short', day: 'numeric', month: 'short' }) {
  return new Date(`${iso}T12:00:00Z`).toLocaleDateString(undefined, { ...options, timeZone: 'UTC' });
}

/** "8:15 PM" for an instant, on the clock of the participant's zone `tz` (the zone their
 * diary dates follow), naming the zone when the phone's clock is in another. */
export function showTime(instant, tz) {
  const d = new Date(instant);
  if (Number.isNaN(d.getTime())) return '';
  const options = { hour: '2-digit', minute: '2-digit' };
  try {
    if (tz && tz !== phoneZone()) return d.toLocaleTimeString(undefined, { ...options, timeZone: tz, timeZoneName: 'short' });
  } catch {
    // A zone this browser does not know: its own clock.
  }
  return d.toLocaleTimeString(undefined, options);
}

export function phoneZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}
