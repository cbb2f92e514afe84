// Choosing a time zone as a person would: a country or region, then a city in it.
// The list is the server's (canonical IANA names only, by country and city); the
// phone keeps the last copy so that Settings opens without signal.
import { Offline, get } from './api.js';
import { h, picker } from './dom.js';
import * as store from './store.js';

/** {countries, device}: the server's list and the canonical name of the phone's zone. */
export async function loadZones(phone) {
  try {
    const list = await get(`/timezones?device=${encodeURIComponent(phone)}`);
    store.save('zones', list);
    return list;
  } catch (error) {
    if (!(error instanceof Offline)) throw error;
    return store.load('zones');
  }
}

/** "Chicago, United States" for a zone in the list, else its name in words. */
export function zoneName(list, zone) {
  const found = find(list, zone);
  return found ? `${found.z.city}, ${found.c.name}` : String(zone || '').replace(/_/g, ' ');
}

function find(list, zone) {
  for (const c of (list && list.countries) || []) {
    const z = c.zones.find((x) => x.zone === zone);
    if (z) return { c, z };
  }
  return null;
}

/** Two labelled selects, country then city, over the server's list; the city's value is
 * the IANA zone. A zone the list lacks (stored before only canonical names were taken,
 * or no list yet) stays on offer by its name. Options: the fields' `ids` and `labels`,
 * the city select's `name` (forms read it) and `describedBy`, `after` (shown under the
 * city select), the box's `className`. Changing the country fires the city's `change`.
 * Returns {el, set(zone), value()}. */
export function countryCityFields(list, current, {
  ids = ['zone-country', 'zone-city'], labels = ['Country or region', 'City or area'],
  name, describedBy, after = [], className = 'zone-picker',
} = {}) {
  const countries = [...((list && list.countries) || [])];
  if (current && !find(list, current)) {
    const named = String(current).replaceAll('_', ' ');
    countries.unshift({ name: named, zones: [{ zone: current, city: named }] });
  }
  const [countryId, cityId] = ids;
  const country = h('select', { id: countryId }, countries.map((c, i) => h('option', { value: String(i) }, c.name)));
  const city = h('select', { id: cityId, name, 'aria-describedby': describedBy });
  const countryPicker = picker(country);
  const cityPicker = picker(city);
  const fill = (zone) => {
    const chosen = countries[Number(country.value)];
    city.replaceChildren(...(chosen ? chosen.zones : []).map((z) => h('option', { value: z.zone }, z.area ? `${z.city} – ${z.area}` : z.city)));
    if (zone) city.value = zone;
    countryPicker.sync();
    cityPicker.sync();
  };
  const set = (zone) => {
    const i = countries.findIndex((c) => c.zones.some((z) => z.zone === zone));
    if (i < 0) return false;
    country.value = String(i);
    fill(zone);
    return true;
  };
  country.addEventListener('change', () => {
    fill();
    city.dispatchEvent(new Event('change', { bubbles: true })); // a draft keeps the new zone
  });
  if (!set(current)) fill();
  return {
    el: h('div', { class: className },
      h('div', { class: 'field' }, h('label', { for: countryId }, labels[0]), countryPicker.el),
      h('div', { class: 'field' }, h('label', { for: cityId }, labels[1]), cityPicker.el, after)),
    set,
    value: () => city.value,
  };
}

/** The phone's picker (Settings): `value()` is the chosen IANA name. */
export function zonePicker(list, current) {
  return countryCityFields(list, current, { describedBy: 'zone-hint' });
}
