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

/** Two labelled selects, country then city; `value()` is the chosen IANA name. */
export function zonePicker(list, current) {
  const countries = [...((list && list.countries) || [])];
  if (current && !find(list, current)) {
    // A zone stored before only canonical names were taken, or no list yet: keep it on offer.
    countries.unshift({ country: '', name: String(current).replace(/_/g, ' '), zones: [{ zone: current, city: current.replace(/_/g, ' ') }] });
  }
  const country = h('select', { id: 'zone-country' },
    countries.map((c, i) => h('option', { value: String(i) }, c.name)));
  const city = h('select', { id: 'zone-city', 'aria-describedby': 'zone-hint' });
  const countryPicker = picker(country);
  const cityPicker = picker(city);
  const fill = (zone) => {
    const c = countries[Number(country.value)];
    city.replaceChildren(...c.zones.map((z) => h('option', { value: z.zone }, z.area ? `${z.city} – ${z.area}` : z.city)));
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
  country.addEventListener('change', () => fill());
  if (!set(current)) fill();
  return {
    el: h('div', { class: 'zone-picker' },
      h('div', { class: 'field' }, h('label', { for: 'zone-country' }, 'Country or region'), countryPicker.el),
      h('div', { class: 'field' }, h('label', { for: 'zone-city' }, 'City or area'), cityPicker.el)),
    set,
    value: () => city.value,
  };
}
